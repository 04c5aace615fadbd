using Mapwright.Abi;
using Mapwright.Drivers;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class UserMemoryTests
{
    private const ulong A = 0x100000000;

    [Fact]
    [Trait("Linux", "arch/x86/mm/fault.c: an access stops at the first byte that faults; earlier bytes were written")]
    public void ReadAndWriteStopAtTheFault()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page);
        fx.Sys.Mprotect(A + Page, Page, ProtR);
        byte[] data = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        Assert.Equal(Signal.SIGSEGV, fx.Sys.WriteMemory(A + Page - 100, data, out int written));
        Assert.Equal(100, written);
        var back = new byte[300];
        Assert.Equal(Signal.None, fx.Sys.ReadMemory(A + Page - 100, back, out int read));
        Assert.Equal(300, read);
        Assert.Equal(data[..100], back[..100]);
        Assert.All(back[100..], b => Assert.Equal(0, b));
        Assert.Equal(Signal.SIGSEGV, fx.Sys.ReadMemory(A + (2 * Page) - 1, new byte[2], out read));
        Assert.Equal(1, read);
    }

    [Fact]
    [Trait("Linux", "mm/memory.c __do_fault(): vm_ops->fault provides the page; an error is SIGBUS; page_mkwrite can refuse a write")]
    public void DriverFaultAndPageMkwriteHooks()
    {
        using var fx = new AddressSpaceFixture();
        ulong fd = fx.Sys.Openat(unchecked((ulong)-100), "/dev/mapwright/faulting", 2, 0).Value;
        ulong a = fx.Sys.Mmap(0, 20 * Page, ProtRw, (ulong)MapFlags.Shared, fd, 0).Value;
        var b = new byte[2];
        Assert.Equal(Signal.None, fx.Sys.ReadMemory(a + (3 * Page), b, out _));
        Assert.Equal(new byte[] { 4, 4 }, b);
        Assert.Equal(Signal.SIGBUS, fx.Sys.ReadMemory(a + (16 * Page), b, out _));
        Assert.Equal(Signal.SIGBUS, fx.Sys.Poke(a, 1, 9));
        Assert.Equal(Signal.None, fx.Sys.Poke(a + Page, 1, 9));
        Assert.True(fx.Mm.Pages.TryGetPte((a + Page) >> 12, out Mapwright.Paging.Pte pte) && pte.Dirty);

        // MADV_POPULATE_READ faults through the driver too; past its pages it is EFAULT.
        int before = fx.Devices.FaultingFaults;
        Assert.False(fx.Sys.Madvise(a + (4 * Page), 4 * Page, (ulong)Madvise.PopulateRead).IsError);
        Assert.True(fx.Devices.FaultingFaults >= before + 4);
        Assert.Equal(Errno.EFAULT, fx.Sys.Madvise(a + (15 * Page), 2 * Page, (ulong)Madvise.PopulateRead).Errno);
    }
}
