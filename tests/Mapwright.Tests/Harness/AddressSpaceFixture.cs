using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.Drivers;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Vfs;

namespace Mapwright.Tests.Harness;

/// <summary>
/// One address space (with its syscall facade and a builder over it) for one test. Dispose runs the whole-structure
/// check, so every test that makes an address space ends with <c>mm.Validate()</c>. Linux: validate_mm().
/// </summary>
internal sealed class AddressSpaceFixture : IDisposable
{
    static AddressSpaceFixture()
    {
        MmDebug.CheckInvariants = true;
    }

    public AddressSpaceFixture(MmConfig? config = null)
    {
        var machine = new Machine();
        Devices = new ExampleDevices(machine.Devices);
        Builder = new AddressSpaceBuilder(machine, config);
        Sys = machine.NewProcess(Builder.Mm);
    }

    /// <summary>The example drivers under /dev/mapwright/, registered on the fixture's machine.</summary>
    public ExampleDevices Devices { get; }

    public AddressSpaceBuilder Builder { get; }

    public AddressSpace Mm => Builder.Mm;

    public MmSyscalls Sys { get; }

    /// <summary>The VMAs, rendered by <see cref="Layout.Render"/>.</summary>
    public string Layout => Harness.Layout.Render(Mm);

    public Vma AllocAndLink(ulong start, ulong end, ulong pgoff, VmFlags flags = AddressSpaceBuilder.DefaultFlags,
        AnonVma? anon = null, VmOperations? ops = null) =>
        Builder.AllocAndLink(start, end, pgoff, flags, anon, ops);

    /// <summary>mmap that must succeed (test setup); returns the address.</summary>
    public ulong Map(ulong addr, ulong len, ulong prot = SyscallArgs.ProtRw, ulong flags = SyscallArgs.PrivateAnon | SyscallArgs.Fixed)
    {
        Abi.SysResult r = Sys.Mmap(addr, len, prot, flags, SyscallArgs.NoFd, 0);
        if (r.IsError)
        {
            throw new InvalidOperationException($"setup mmap(0x{addr:x}, 0x{len:x}) failed: {r}");
        }

        return r.Value;
    }

    public void Dispose() => Mm.Validate();
}
