using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mlock, mlock2, munlock, mlockall, munlockall. Linux: mm/mlock.c.</summary>
internal static class MlockOps
{
    /// <summary>Linux: mm/mlock.c do_mlock(). flags is VM_LOCKED, optionally with VM_LOCKONFAULT.</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: on success, held for read (released, then taken for read to populate).</remarks>
    internal static Errno DoMlock(AddressSpace mm, ulong start, ulong len, VmFlags flags)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_mlock");
        if (!mm.CanDoMlock())
        {
            return Errno.EPERM;
        }

        len = PageConstants.PageAlign(len + (start & (PageConstants.PageSize - 1)));
        start &= PageConstants.PageMask;
        ulong lockLimit = mm.Config.RlimitMemlock >> PageConstants.PageShift;
        ulong locked = (len >> PageConstants.PageShift) + mm.LockedVm;
        if (locked > lockLimit && !mm.Config.CapIpcLock)
        {
            locked = unchecked(locked - CountMlockedPages(mm, start, len));
        }

        Errno error = Errno.ENOMEM;
        if (locked <= lockLimit || mm.Config.CapIpcLock)
        {
            error = ApplyVmaLockFlags(mm, start, len, flags);
        }

        if (error != Errno.None)
        {
            return error;
        }

        MmapLockOps.UnlockForPopulate(mm);
        Errno populate = MemoryOps.MmPopulate(mm, start, len, ignoreErrors: false);
        return populate switch
        {
            Errno.None => Errno.None,
            Errno.EFAULT => Errno.ENOMEM,
            Errno.ENOMEM => Errno.EAGAIN,
            _ => populate,
        };
    }

    /// <summary>Linux: munlock syscall.</summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static Errno DoMunlock(AddressSpace mm, ulong start, ulong len)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "munlock");
        len = PageConstants.PageAlign(len + (start & (PageConstants.PageSize - 1)));
        start &= PageConstants.PageMask;
        return ApplyVmaLockFlags(mm, start, len, VmFlags.None);
    }

    /// <summary>
    /// Locked pages already in [start, start+len), with Linux's unsigned arithmetic (the start of the first
    /// locked VMA is subtracted before its whole length is added). Linux: mm/mlock.c count_mm_mlocked_page_nr().
    /// </summary>
    private static ulong CountMlockedPages(AddressSpace mm, ulong start, ulong len)
    {
        // Don't overflow past ULONG_MAX.
        ulong end = ulong.MaxValue - len < start ? ulong.MaxValue : start + len;
        ulong count = 0;
        for (Vma? v = mm.Tree.FindVma(start); v is not null && v.Start < end; v = v.NextVma)
        {
            if ((v.Flags & VmFlags.Locked) != 0)
            {
                if (start > v.Start)
                {
                    count = unchecked(count - (start - v.Start));
                }

                if (end < v.End)
                {
                    count = unchecked(count + (end - v.Start));
                    break;
                }

                count = unchecked(count + (v.End - v.Start));
            }
        }

        return count >> PageConstants.PageShift;
    }

    /// <summary>Linux: mm/mlock.c apply_vma_lock_flags().</summary>
    private static Errno ApplyVmaLockFlags(AddressSpace mm, ulong start, ulong len, VmFlags flags)
    {
        ulong end = start + len;
        if (end < start)
        {
            return Errno.EINVAL;
        }

        if (end == start)
        {
            return Errno.None;
        }

        Vma? vma = mm.Tree.Lookup(start);
        if (vma is null)
        {
            return Errno.ENOMEM;
        }

        Vma? prev = start > vma.Start ? vma : vma.PrevVma;
        ulong nstart = start;
        ulong tmp = vma.Start;
        Vma? cur = vma;
        while (cur is not null && cur.Start < end)
        {
            if (cur.Start != tmp)
            {
                return Errno.ENOMEM;
            }

            VmFlags newFlags = (cur.Flags & ~VmFlags.LockedMask) | flags;
            tmp = Math.Min(cur.End, end);
            Errno err = MlockFixup(mm, ref prev, cur, nstart, tmp, newFlags, out Vma result);
            if (err != Errno.None)
            {
                return err;
            }

            tmp = result.End;
            nstart = tmp;
            cur = result.NextVma;
        }

        return tmp < end ? Errno.ENOMEM : Errno.None;
    }

    /// <summary>Linux: mm/mlock.c mlock_fixup().</summary>
    private static Errno MlockFixup(AddressSpace mm, ref Vma? prev, Vma vma, ulong start, ulong end, VmFlags newFlags, out Vma result)
    {
        result = vma;
        VmFlags oldFlags = vma.Flags;
        if (newFlags == oldFlags || !VmaSupportsMlock(vma))
        {
            prev = vma;
            return Errno.None;
        }

        Errno err = VmaOps.ModifyFlags(mm, prev, vma, start, end, newFlags, out Vma modified);
        if (err != Errno.None)
        {
            prev = vma;
            return err;
        }

        long nrPages = (long)((end - start) >> PageConstants.PageShift);
        if ((newFlags & VmFlags.Locked) == 0)
        {
            nrPages = -nrPages;
        }
        else if ((oldFlags & VmFlags.Locked) != 0)
        {
            nrPages = 0;
        }

        mm.LockedVm = (ulong)((long)mm.LockedVm + nrPages);
        modified.Flags = newFlags | (modified.Flags & VmFlags.Sticky);
        prev = modified;
        result = modified;
        return Errno.None;
    }

    /// <summary>Linux: mm/mlock.c vma_supports_mlock().</summary>
    private static bool VmaSupportsMlock(Vma vma) =>
        (vma.Flags & (VmFlags.Special | VmFlags.Droppable | VmFlags.HugeTlb)) == 0 && vma.VmOps?.IsSpecialMapping != true;

    /// <summary>Linux: mm/mlock.c mlockall syscall. flags are MCL_*.</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: with MCL_CURRENT, held for read (released, then taken for read to populate).</remarks>
    internal static Errno DoMlockall(AddressSpace mm, MlockallFlags flags)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "mlockall");
        if (flags == 0 || (flags & ~(MlockallFlags.Current | MlockallFlags.Future | MlockallFlags.OnFault)) != 0 || flags == MlockallFlags.OnFault)
        {
            return Errno.EINVAL;
        }

        if (!mm.CanDoMlock())
        {
            return Errno.EPERM;
        }

        ulong lockLimit = mm.Config.RlimitMemlock >> PageConstants.PageShift;
        Errno ret = Errno.ENOMEM;
        if ((flags & MlockallFlags.Current) == 0 || mm.TotalVm <= lockLimit || mm.Config.CapIpcLock)
        {
            ApplyMlockallFlags(mm, flags);
            ret = Errno.None;
        }

        if (ret == Errno.None && (flags & MlockallFlags.Current) != 0)
        {
            MmapLockOps.UnlockForPopulate(mm);
            _ = MemoryOps.MmPopulate(mm, 0, PageConstants.TaskSize, ignoreErrors: true);
        }

        return ret;
    }

    /// <summary>Linux: munlockall syscall.</summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static Errno DoMunlockall(AddressSpace mm)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "munlockall");
        ApplyMlockallFlags(mm, 0);
        return Errno.None;
    }

    /// <summary>Linux: mm/mlock.c apply_mlockall_flags().</summary>
    private static void ApplyMlockallFlags(AddressSpace mm, MlockallFlags flags)
    {
        mm.DefFlags &= ~VmFlags.LockedMask;
        if ((flags & MlockallFlags.Future) != 0)
        {
            mm.DefFlags |= VmFlags.Locked;
            if ((flags & MlockallFlags.OnFault) != 0)
            {
                mm.DefFlags |= VmFlags.LockOnFault;
            }

            if ((flags & MlockallFlags.Current) == 0)
            {
                return;
            }
        }

        VmFlags toAdd = VmFlags.None;
        if ((flags & MlockallFlags.Current) != 0)
        {
            toAdd |= VmFlags.Locked;
            if ((flags & MlockallFlags.OnFault) != 0)
            {
                toAdd |= VmFlags.LockOnFault;
            }
        }

        Vma? prev = null;
        Vma? vma = mm.Tree.First;
        while (vma is not null)
        {
            VmFlags newFlags = (vma.Flags & ~VmFlags.LockedMask) | toAdd;
            Errno err = MlockFixup(mm, ref prev, vma, vma.Start, vma.End, newFlags, out Vma result);
            if (err != Errno.None)
            {
                prev = vma;
                vma = vma.NextVma;
                continue;
            }

            vma = result.NextVma;
        }
    }
}
