using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;

namespace Mapwright.Syscalls;

/// <summary>
/// The memory-management system calls of one process, with Linux's argument checks and errno order.
/// Every mutating call ends with the address-space invariant check when <see cref="Diagnostics.MmDebug.CheckInvariants"/> is on.
/// </summary>
public sealed partial class MmSyscalls
{
    /// <summary>A new process of <paramref name="machine"/> around <paramref name="mm"/> (see
    /// <see cref="Machine.NewProcess(AddressSpace)"/>).</summary>
    internal MmSyscalls(Machine machine, AddressSpace mm)
    {
        Machine = machine;
        Mm = mm;
        Files = new Vfs.FdTable();
        machine.Add(this);
    }

    /// <summary>A forked child: its own address space and a copy of the parent's descriptors; the devices and
    /// file systems are the machine's, shared.</summary>
    private MmSyscalls(AddressSpace mm, MmSyscalls parent)
    {
        Machine = parent.Machine;
        Mm = mm;
        Files = parent.Files.Clone();
        Cwd = parent.Cwd;
        CwdKnown = parent.CwdKnown;
        Machine.Add(this);
    }

    /// <summary>The machine the process runs on. Immutable after construction.</summary>
    public Machine Machine { get; }

    /// <summary>The process's address space; execve replaces it. Linux: task->mm.</summary>
    public AddressSpace Mm { get; private set; }

    private SysResult Done(SysResult result)
    {
        Mm.CheckInvariants();
        return result;
    }

    private SysResult Done(Errno errno) => Done(SysResult.FromErrno(errno));
}
