using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>msync. Linux: mm/msync.c.</summary>
internal static class MsyncOps
{
    /// <summary>Linux: mm/msync.c msync syscall.</summary>
    /// <remarks>Requires: mmap lock held for read.</remarks>
    internal static Errno DoMsync(AddressSpace mm, ulong start, ulong len, MsyncFlags flags)
    {
        Locking.LockAssert.MmapReadLocked(mm.MmapLock, "msync");
        if ((flags & ~(MsyncFlags.Async | MsyncFlags.Invalidate | MsyncFlags.Sync)) != 0 || !PageConstants.IsPageAligned(start)
            || ((flags & MsyncFlags.Async) != 0 && (flags & MsyncFlags.Sync) != 0))
        {
            return Errno.EINVAL;
        }

        len = unchecked(len + ~PageConstants.PageMask) & PageConstants.PageMask;
        ulong end = start + len;
        if (end < start)
        {
            return Errno.ENOMEM;
        }

        if (end == start)
        {
            return Errno.None;
        }

        Errno unmappedError = Errno.None;
        Vma? vma = mm.Tree.FindVma(start);
        while (true)
        {
            if (vma is null)
            {
                return Errno.ENOMEM;
            }

            if (start < vma.Start)
            {
                if (flags == MsyncFlags.Async)
                {
                    return Errno.ENOMEM;
                }

                start = vma.Start;
                if (start >= end)
                {
                    return Errno.ENOMEM;
                }

                unmappedError = Errno.ENOMEM;
            }

            if ((flags & MsyncFlags.Invalidate) != 0 && (vma.Flags & VmFlags.Locked) != 0)
            {
                return Errno.EBUSY;
            }

            start = vma.End;
            if (start >= end)
            {
                return unmappedError;
            }

            vma = mm.Tree.FindVma(start);
        }
    }
}
