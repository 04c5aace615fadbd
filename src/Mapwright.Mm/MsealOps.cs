using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mseal. Linux: mm/mseal.c.</summary>
internal static class MsealOps
{
    /// <summary>Linux: mm/mseal.c do_mseal().</summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static Errno DoMseal(AddressSpace mm, ulong start, ulong lenIn, ulong flags)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_mseal");
        if (flags != 0 || !PageConstants.IsPageAligned(start))
        {
            return Errno.EINVAL;
        }

        ulong len = PageConstants.PageAlign(lenIn);
        if (lenIn != 0 && len == 0)
        {
            return Errno.EINVAL;
        }

        ulong end = start + len;
        if (end < start)
        {
            return Errno.EINVAL;
        }

        if (end == start)
        {
            return Errno.None;
        }

        // range_contains_unmapped()
        ulong prevEnd = start;
        for (Vma? v = mm.Tree.FindVma(start); v is not null && v.Start < end; v = v.NextVma)
        {
            if (v.Start > prevEnd)
            {
                return Errno.ENOMEM;
            }

            prevEnd = v.End;
        }

        if (prevEnd < end)
        {
            return Errno.ENOMEM;
        }

        // mseal_apply()
        Vma vma = mm.Tree.Lookup(start)!;
        Vma? prev = start > vma.Start ? vma : vma.PrevVma;
        Vma? cur = vma;
        while (cur is not null && cur.Start < end)
        {
            // Each VMA's own start (not the previous VMA's end, which a merge may have moved): a VMA merged
            // forward into its sealed successor must not shift the next range. Linux 6.18 mm/mseal.c
            // mseal_apply(), curr_start = MAX(vma->vm_start, start).
            ulong currStart = Math.Max(cur.Start, start);
            ulong currEnd = Math.Min(cur.End, end);
            if ((cur.Flags & VmFlags.Sealed) == 0)
            {
                VmFlags newFlags = cur.Flags | VmFlags.Sealed;
                Errno err = VmaOps.ModifyFlags(mm, prev, cur, currStart, currEnd, newFlags, out Vma modified);
                if (err != Errno.None)
                {
                    return err;
                }

                modified.Flags = newFlags | (modified.Flags & VmFlags.Sticky);
                cur = modified;
            }

            prev = cur;
            cur = cur.NextVma;
        }

        return Errno.None;
    }
}
