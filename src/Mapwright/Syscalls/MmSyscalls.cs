using Mapwright.Abi;
using Mapwright.Mm;

namespace Mapwright.Syscalls;

/// <summary>
/// The memory-management system calls of one process, with Linux's argument checks and errno order.
/// Every mutating call ends with the address-space invariant check when <see cref="Diagnostics.MmDebug.CheckInvariants"/> is on.
/// </summary>
public sealed partial class MmSyscalls
{
    public MmSyscalls(AddressSpace mm)
    {
        Mm = mm;
        Files = new Vfs.FdTable();
        Devices = new Vfs.Devices.ExampleDevices();
        _host = new Vfs.Fs.HostFs.HostFiles();
        _zero = Vfs.Fs.CharDevices.NewZeroInode();
        _null = Vfs.Fs.CharDevices.NewNullInode();
        mm.Machine.AddFdTable(Files);
    }

    /// <summary>A forked child: its own address space and a copy of the parent's descriptors; the devices and
    /// file systems are the machine's, shared.</summary>
    private MmSyscalls(AddressSpace mm, MmSyscalls parent)
    {
        Mm = mm;
        Files = parent.Files.Clone();
        Devices = parent.Devices;
        _host = parent._host;
        _zero = parent._zero;
        _null = parent._null;
        mm.Machine.AddFdTable(Files);
    }

    /// <summary>The process's address space; execve replaces it. Linux: task->mm.</summary>
    public AddressSpace Mm { get; private set; }

    private SysResult Done(SysResult result)
    {
        Mm.CheckInvariants();
        return result;
    }

    private SysResult Done(Errno errno)
    {
        Mm.CheckInvariants();
        return errno == Errno.None ? SysResult.Ok(0) : SysResult.Fail(errno);
    }

    private static SysResult FromLong(long value) => value < 0 ? SysResult.Fail((Errno)(int)-value) : SysResult.Ok((ulong)value);
}
