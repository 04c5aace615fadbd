using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mseal, msync, mincore, brk.</summary>
public sealed partial class AddressSpace
{
    /// <summary>Linux: mm/mseal.c do_mseal().</summary>
    internal Errno DoMseal(ulong start, ulong lenIn, ulong flags)
    {
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
        for (Vma? v = Tree.FindVma(start); v is not null && v.Start < end; v = v.NextVma)
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
        Vma vma = Tree.Lookup(start)!;
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
                Errno err = ModifyFlags(prev, cur, currStart, currEnd, newFlags, out Vma modified);
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

    /// <summary>Linux: mm/msync.c msync syscall.</summary>
    internal Errno DoMsync(ulong start, ulong len, ulong flags)
    {
        const ulong async = 1, invalidate = 2, sync = 4;
        if ((flags & ~(async | invalidate | sync)) != 0 || !PageConstants.IsPageAligned(start)
            || ((flags & async) != 0 && (flags & sync) != 0))
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
        Vma? vma = Tree.FindVma(start);
        while (true)
        {
            if (vma is null)
            {
                return Errno.ENOMEM;
            }

            if (start < vma.Start)
            {
                if (flags == async)
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

            if ((flags & invalidate) != 0 && (vma.Flags & VmFlags.Locked) != 0)
            {
                return Errno.EBUSY;
            }

            start = vma.End;
            if (start >= end)
            {
                return unmappedError;
            }

            vma = Tree.FindVma(start);
        }
    }

    /// <summary>
    /// Residency of [start, start + len) into <paramref name="vec"/> (one byte per page); returns pages written
    /// or an errno. Linux: mm/mincore.c mincore syscall and do_mincore().
    /// </summary>
    internal Errno DoMincore(ulong start, ulong len, bool vecValid, List<byte>? vec)
    {
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
            Vma? vma = Tree.Lookup(addr);
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
                vec?.Add(IsResident(vma, addr + (i << PageConstants.PageShift)) ? (byte)1 : (byte)0);
            }

            pages -= n;
            addr = chunkEnd;
        }

        return Errno.None;
    }

    /// <summary>Linux: mm/mmap.c brk syscall. Returns the new (or unchanged) break.</summary>
    internal ulong DoBrk(ulong brk)
    {
        ulong origBrk = Brk;
        ulong minBrk = StartBrk;
        if (brk < minBrk)
        {
            return origBrk;
        }

        // check_data_rlimit(): the heap plus data must fit RLIMIT_DATA.
        if (Config.RlimitData != MmConfig.Unlimited && brk - StartBrk > Config.RlimitData)
        {
            return origBrk;
        }

        ulong newBrk = PageConstants.PageAlign(brk);
        ulong oldBrk = PageConstants.PageAlign(Brk);
        if (oldBrk == newBrk)
        {
            Brk = brk;
            return brk;
        }

        if (brk <= Brk)
        {
            // Always allow shrinking, unless the range holds a non-brk VMA.
            Vma? brkVma = Tree.FindIntersection(newBrk, oldBrk);
            if (brkVma is null || brkVma.Start >= oldBrk)
            {
                return origBrk;
            }

            Brk = brk;
            if (DoAlignedMunmap(newBrk, oldBrk) != Errno.None)
            {
                Brk = origBrk;
                return origBrk;
            }

            return brk;
        }

        if (Tree.FindIntersection(oldBrk, newBrk + PageConstants.PageSize) is not null)
        {
            return origBrk;
        }

        // check_brk_limits(): the range must be mappable, and with mlockall(MCL_FUTURE) lockable.
        if (GetUnmappedArea(false, false, oldBrk, newBrk - oldBrk, 0, MapFlags.Fixed, VmFlags.None) < 0
            || !MlockFutureOk(DefFlags, newBrk - oldBrk))
        {
            return origBrk;
        }

        Vma? next = Tree.FindIntersection(oldBrk, newBrk + PageConstants.PageSize + PageConstants.StackGuardGap);
        if (next is not null && newBrk + PageConstants.PageSize > next.StartGap(PageConstants.StackGuardGap))
        {
            return origBrk;
        }

        Vma? prev = Tree.FindPrev(oldBrk);
        Vma? brkvma = prev is not null && prev.End > StartBrk ? prev : null;
        if (DoBrkFlags(brkvma, oldBrk, newBrk - oldBrk) != Errno.None)
        {
            return origBrk;
        }

        Brk = brk;
        if ((DefFlags & VmFlags.Locked) != 0)
        {
            _ = MmPopulate(oldBrk, newBrk - oldBrk, ignoreErrors: true);
        }

        return brk;
    }

    /// <summary>Linux: mm/vma.c do_brk_flags(); <paramref name="extraFlags"/> is vm_brk_flags()' VM_EXEC.</summary>
    private Errno DoBrkFlags(Vma? vma, ulong addr, ulong len, VmFlags extraFlags = VmFlags.None)
    {
        VmFlags flags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec
            | VmFlags.Account | DefFlags | extraFlags;
        ulong pages = len >> PageConstants.PageShift;
        if (!MayExpandVm(flags, pages))
        {
            return Errno.ENOMEM;
        }

        if (MapCount > Config.MaxMapCount)
        {
            return Errno.ENOMEM;
        }

        if (VmEnoughMemory(pages) != Errno.None)
        {
            return Errno.ENOMEM;
        }

        Vma? merged = null;
        if (vma is not null && vma.End == addr)
        {
            merged = MergeNewRange(vma, null, addr, addr + len, addr >> PageConstants.PageShift, flags, null, null, justExpand: true, out bool nomem);
            if (merged is null && nomem)
            {
                VmUnacctMemory(pages);
                return Errno.ENOMEM;
            }
        }

        if (merged is null)
        {
            Tree.Insert(new Vma(addr, addr + len, addr >> PageConstants.PageShift, flags, null));
        }

        TotalVm += pages;
        DataVm += pages;
        if ((flags & VmFlags.Locked) != 0)
        {
            LockedVm += pages;
        }

        return Errno.None;
    }
}
