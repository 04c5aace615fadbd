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
    }

    public AddressSpace Mm { get; }

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
