using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mincore. Linux: mm/mincore.c.</summary>
internal static class MincoreOps
{
    /// <summary>
    /// Residency of [start, start + len) into <paramref name="vec"/> (one byte per page); returns pages written
    /// or an errno. Linux: mm/mincore.c mincore syscall and do_mincore().
    /// </summary>
    /// <remarks>Requires: mmap lock held for read.</remarks>
    internal static Errno DoMincore(AddressSpace mm, ulong start, ulong len, bool vecValid, List<byte>? vec)
    {
        Locking.LockAssert.MmapReadLocked(mm.MmapLock, "mincore");
        if (!PageConstants.IsPageAligned(start))
        {
            return Errno.EINVAL;
        }

        // access_ok(): the range must end at or below USER_PTR_MAX (TASK_SIZE_MAX - 1) without wrapping.
        ulong sum = start + len;
        if (sum < start || sum > PageConstants.TaskSize - 1)
        {
            return Errno.ENOMEM;
        }

        ulong pages = (len >> PageConstants.PageShift) + ((len & (PageConstants.PageSize - 1)) != 0 ? 1UL : 0);
        ulong addr = start;
        while (pages != 0)
        {
            Vma? vma = mm.Tree.Lookup(addr);
            if (vma is null)
            {
                return Errno.ENOMEM;
            }

            ulong chunkEnd = Math.Min(vma.End, addr + (Math.Min(pages, 4096) << PageConstants.PageShift));
            ulong n = (chunkEnd - addr) >> PageConstants.PageShift;
            if (!vecValid)
            {
                return Errno.EFAULT;
            }

            for (ulong i = 0; i < n; i++)
            {
                vec?.Add(MadviseOps.IsResident(mm, vma, addr + (i << PageConstants.PageShift)) ? (byte)1 : (byte)0);
            }

            pages -= n;
            addr = chunkEnd;
        }

        return Errno.None;
    }
}
