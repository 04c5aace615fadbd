using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>madvise. Linux: mm/madvise.c.</summary>
internal static class MadviseOps
{
    /// <summary>Linux: mm/madvise.c madvise_behavior_valid().</summary>
    private static bool MadviseBehaviorValid(AddressSpace mm, Madvise behavior)
    {
        switch (behavior)
        {
            case Madvise.DoFork:
            case Madvise.DontFork:
            case Madvise.Normal:
            case Madvise.Sequential:
            case Madvise.Random:
            case Madvise.Remove:
            case Madvise.WillNeed:
            case Madvise.DontNeed:
            case Madvise.DontNeedLocked:
            case Madvise.Free:
            case Madvise.Cold:
            case Madvise.PageOut:
            case Madvise.PopulateRead:
            case Madvise.PopulateWrite:
            case Madvise.DontDump:
            case Madvise.DoDump:
            case Madvise.WipeOnFork:
            case Madvise.KeepOnFork:
            case Madvise.GuardInstall:
            case Madvise.GuardRemove:
                return true;
            case Madvise.SoftOffline:
            case Madvise.HwPoison:
                return mm.Config.MemoryFailureEnabled;
            case Madvise.Mergeable:
            case Madvise.Unmergeable:
                return mm.Config.KsmEnabled;
            case Madvise.HugePage:
            case Madvise.NoHugePage:
            case Madvise.Collapse:
                return mm.Config.ThpEnabled;
            default:
                return false;
        }
    }

    /// <summary>Linux: mm/madvise.c do_madvise().</summary>
    /// <remarks>Requires: the mmap lock in the mode madvise takes for the advice (write for advice that changes VMA flags, read for advice that walks the range), or the read lock of the one VMA holding the range (MADV_DONTNEED); none for memory-failure injection, refused before anything is read. Linux: mm/madvise.c get_lock_mode().</remarks>
    /// <param name="mm">The address space.</param>
    /// <param name="start">madvise's start argument.</param>
    /// <param name="lenIn">madvise's length argument.</param>
    /// <param name="advice">madvise's advice, decoded from the int argument.</param>
    /// <param name="vmaReadLocked">The VMA holding the whole range when the caller took its read lock instead of the
    /// mmap lock (MADV_DONTNEED): the walk starts from it rather than looking it up again, as Linux's
    /// madvise_lock() hands the VMA try_vma_read_lock() found to madvise_walk_vmas().</param>
    internal static Errno DoMadvise(AddressSpace mm, ulong start, ulong lenIn, Madvise advice, Vma? vmaReadLocked = null)
    {
        if (!MadviseBehaviorValid(mm, advice) || !PageConstants.IsPageAligned(start))
        {
            return Errno.EINVAL;
        }

        ulong len = PageConstants.PageAlign(lenIn);
        if ((lenIn != 0 && len == 0) || start + len < start)
        {
            return Errno.EINVAL;
        }

        if (start + len == start)
        {
            return Errno.None;
        }

        if (advice is Madvise.HwPoison or Madvise.SoftOffline)
        {
            return Errno.EPERM;
        }

        Locking.LockAssert.VmaLocked(vmaReadLocked is { IsReadLocked: true } locked && locked.Start <= start && start + len <= locked.End,
            mm.MmapLock, "the VMA of the range", "do_madvise");

        ulong end = start + len;
        if (advice is Madvise.PopulateRead or Madvise.PopulateWrite)
        {
            return MadvisePopulate(mm, start, end, advice == Madvise.PopulateWrite);
        }

        Vma? vma = vmaReadLocked ?? mm.Tree.FindVma(start);
        Vma? prev = vma is not null && start > vma.Start ? vma : (vma?.PrevVma ?? mm.Tree.FindPrev(start));
        ulong lastEnd = end;
        ulong rangeStart = start;
        Errno unmappedError = Errno.None;
        while (true)
        {
            if (vma is null)
            {
                return Errno.ENOMEM;
            }

            if (rangeStart < vma.Start)
            {
                unmappedError = Errno.ENOMEM;
                rangeStart = vma.Start;
                if (rangeStart >= lastEnd)
                {
                    break;
                }
            }

            ulong rangeEnd = Math.Min(vma.End, lastEnd);
            Errno error = MadviseVmaBehavior(mm, ref prev, ref vma, rangeStart, rangeEnd, advice);
            if (error != Errno.None)
            {
                return error;
            }

            // The VMA may have merged past the range just done: continue after it.
            prev = vma;
            rangeStart = Math.Max(rangeEnd, prev.End);
            if (rangeStart >= lastEnd)
            {
                break;
            }

            vma = mm.Tree.FindVma(prev.End);
        }

        return unmappedError;
    }

    private static bool IsDiscard(Madvise advice) => advice is Madvise.Free or Madvise.DontNeed or Madvise.DontNeedLocked
        or Madvise.Remove or Madvise.DontFork or Madvise.WipeOnFork or Madvise.GuardInstall;

    /// <summary>Linux: mm/madvise.c madvise_vma_behavior().</summary>
    private static Errno MadviseVmaBehavior(AddressSpace mm, ref Vma? prev, ref Vma vma, ulong start, ulong end, Madvise advice)
    {
        // can_madvise_modify(): discarding from a sealed read-only anonymous mapping would change its contents.
        if ((vma.Flags & VmFlags.Sealed) != 0 && IsDiscard(advice) && vma.File is null
            && (vma.Flags & (VmFlags.Shared | VmFlags.Write)) == 0)
        {
            return Errno.EPERM;
        }

        VmFlags newFlags = vma.Flags;
        switch (advice)
        {
            case Madvise.Remove:
                return MadviseRemove(mm, vma, start, end);
            case Madvise.WillNeed:
                return Errno.None;
            case Madvise.Cold:
                if ((vma.Flags & (VmFlags.Locked | VmFlags.PfnMap | VmFlags.HugeTlb)) != 0)
                {
                    return Errno.EINVAL;
                }

                AgeExclusivePages(mm, start, end, pageout: false);
                return Errno.None;
            case Madvise.PageOut:
                if ((vma.Flags & (VmFlags.Locked | VmFlags.PfnMap | VmFlags.HugeTlb)) != 0)
                {
                    return Errno.EINVAL;
                }

                AgeExclusivePages(mm, start, end, pageout: true);
                MadvisePageOut(mm, vma, start, end);
                return Errno.None;
            case Madvise.Free:
            case Madvise.DontNeed:
            case Madvise.DontNeedLocked:
                return MadviseDontNeedFree(mm, vma, start, end, advice);
            case Madvise.Collapse:
                return MadviseCollapseAllowed(vma) ? Errno.None : Errno.EINVAL;
            case Madvise.GuardInstall:
                if ((vma.Flags & (VmFlags.Special | VmFlags.HugeTlb | VmFlags.Locked)) != 0)
                {
                    return Errno.EINVAL;
                }

                if ((vma.Flags & VmFlags.Shared) == 0)
                {
                    MemoryOps.AnonVmaPrepare(mm, vma);
                }

                // The whole VMA is flagged (no split), then present pages are zapped and every page of the range
                // gets a guard marker. Linux: madvise_guard_install() → vma_flag_set_atomic(VM_MAYBE_GUARD_BIT).
                vma.Flags |= VmFlags.MaybeGuard;
                mm.Pages.ClearKeepingGuards(start >> PageConstants.PageShift, end >> PageConstants.PageShift, MemoryOps.HasRecency(vma));
                for (ulong a = start; a < end; a += PageConstants.PageSize)
                {
                    mm.Pages.SetGuard(a >> PageConstants.PageShift);
                }

                return Errno.None;
            case Madvise.GuardRemove:
                if ((vma.Flags & (VmFlags.Special | VmFlags.HugeTlb)) != 0)
                {
                    return Errno.EINVAL;
                }

                mm.Pages.RemoveGuards(start >> PageConstants.PageShift, end >> PageConstants.PageShift);
                return Errno.None;
            case Madvise.Normal:
                newFlags &= ~(VmFlags.RandRead | VmFlags.SeqRead);
                break;
            case Madvise.Sequential:
                newFlags = (newFlags & ~VmFlags.RandRead) | VmFlags.SeqRead;
                break;
            case Madvise.Random:
                newFlags = (newFlags & ~VmFlags.SeqRead) | VmFlags.RandRead;
                break;
            case Madvise.DontFork:
                newFlags |= VmFlags.DontCopy;
                break;
            case Madvise.DoFork:
                if ((newFlags & VmFlags.Io) != 0)
                {
                    return Errno.EINVAL;
                }

                newFlags &= ~VmFlags.DontCopy;
                break;
            case Madvise.WipeOnFork:
                if (vma.File is not null || (newFlags & VmFlags.Shared) != 0)
                {
                    return Errno.EINVAL;
                }

                newFlags |= VmFlags.WipeOnFork;
                break;
            case Madvise.KeepOnFork:
                if ((newFlags & VmFlags.Droppable) != 0)
                {
                    return Errno.EINVAL;
                }

                newFlags &= ~VmFlags.WipeOnFork;
                break;
            case Madvise.DontDump:
                newFlags |= VmFlags.DontDump;
                break;
            case Madvise.DoDump:
                if (((newFlags & VmFlags.HugeTlb) == 0 && (newFlags & VmFlags.Special) != 0) || (newFlags & VmFlags.Droppable) != 0)
                {
                    return Errno.EINVAL;
                }

                newFlags &= ~VmFlags.DontDump;
                break;
            case Madvise.Mergeable:
                // ksm_madvise(): silently ignored on mappings KSM cannot handle.
                if ((newFlags & (VmFlags.Mergeable | VmFlags.Shared | VmFlags.MayShare | VmFlags.PfnMap | VmFlags.Io
                    | VmFlags.DontExpand | VmFlags.HugeTlb | VmFlags.MixedMap | VmFlags.Droppable)) == 0)
                {
                    newFlags |= VmFlags.Mergeable;
                }

                break;
            case Madvise.Unmergeable:
                newFlags &= ~VmFlags.Mergeable;
                break;
            case Madvise.HugePage:
                newFlags = (newFlags & ~VmFlags.NoHugePage) | VmFlags.HugePage;
                break;
            case Madvise.NoHugePage:
                newFlags = (newFlags & ~VmFlags.HugePage) | VmFlags.NoHugePage;
                break;
        }

        if (newFlags == vma.Flags)
        {
            return Errno.None;
        }

        Errno err = VmaOps.ModifyFlags(mm, prev, vma, start, end, newFlags, out Vma modified);
        if (err != Errno.None)
        {
            // madvise() reports a lack of kernel memory as EAGAIN.
            return err == Errno.ENOMEM ? Errno.EAGAIN : err;
        }

        modified.Flags = newFlags | (modified.Flags & VmFlags.Sticky);
        vma = modified;
        return Errno.None;
    }

    /// <summary>
    /// Reclaims the page-cache pages mapped in the range that are clean: they are dropped and unmapped. With no
    /// swap (the model has none), anonymous and dirty shmem pages stay where they are.
    /// Linux: mm/madvise.c madvise_pageout() → mm/vmscan.c reclaim_pages(), shrink_folio_list().
    /// </summary>
    private static void MadvisePageOut(AddressSpace mm, Vma vma, ulong start, ulong end)
    {
        if (vma.File is not { } file || vma.IsAnonymous)
        {
            PageOutAnonymous(mm, vma, start, end);
            return;
        }

        // Page-cache pages only this entry maps are unmapped everywhere (their entries' dirty bits pass to the
        // page); a clean page then leaves the page cache, a dirty one stays (shmem without swap cannot be
        // written out: it is redirtied and kept). Linux: shrink_folio_list() → try_to_unmap(), pageout() →
        // shmem_writeout() "redirty", __remove_mapping().
        PageOutAnonymous(mm, vma, start, end);
        for (ulong a = start; a < end; a += PageConstants.PageSize)
        {
            ulong vpn = a >> PageConstants.PageShift;
            if (!mm.Pages.TryGetPte(vpn, out Pte pte) || pte.Kind != PteKind.FilePage || mm.Pages.Memory.MapCount(pte.Frame) > 1)
            {
                continue;
            }

            ulong pgoff = vma.PgOff + ((a - vma.Start) >> PageConstants.PageShift);
            foreach (AddressSpace other in mm.Manager.AddressSpaces)
            {
                MadviseOps.UnmapFilePage(other, file.Inode, pgoff);
            }

            if (!file.PageCache.IsDirty(pgoff))
            {
                file.PageCache.Remove(pgoff);
            }
        }
    }

    /// <summary>
    /// Reclaim without swap frees the anonymous pages that need none: every page of a MAP_DROPPABLE mapping, and
    /// pages MADV_FREE made lazily freeable and nobody wrote since. Only pages this entry alone maps are tried.
    /// Linux: mm/vmscan.c shrink_folio_list() for !folio_test_swapbacked() anon folios.
    /// </summary>
    private static void PageOutAnonymous(AddressSpace mm, Vma vma, ulong start, ulong end)
    {
        List<(ulong Vpn, Pte Pte)> entries = mm.MadvisePageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(start >> PageConstants.PageShift, end >> PageConstants.PageShift, entries);
        PhysicalMemory memory = mm.Pages.Memory;
        bool droppable = (vma.Flags & VmFlags.Droppable) != 0;
        foreach ((ulong vpn, Pte pte) in entries)
        {
            if (pte.Kind != PteKind.AnonPage || memory.MapCount(pte.Frame) > 1)
            {
                continue;
            }

            if (droppable || (memory.IsLazyFree(pte.Frame) && !pte.Dirty && !memory.IsDirty(pte.Frame)))
            {
                mm.Pages.Clear(vpn, vpn + 1);
            }
        }

        entries.Clear();
    }

    /// <summary>Removes every PTE of this address space that maps the given file page (not private copies).
    /// Linux: try_to_unmap().</summary>
    private static void UnmapFilePage(AddressSpace mm, Inode inode, ulong pgoff)
    {
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            if (v.File is { } f && ReferenceEquals(f.Inode, inode) && pgoff >= v.PgOff && pgoff - v.PgOff < v.Pages)
            {
                ulong vpn = (v.Start >> PageConstants.PageShift) + (pgoff - v.PgOff);
                if (mm.Pages.TryGet(vpn, out PteKind k) && k == PteKind.FilePage)
                {
                    mm.Pages.Clear(vpn, vpn + 1);
                }
            }
        }
    }

    /// <summary>
    /// MADV_COLLAPSE needs a VMA that may hold a PMD-sized huge page: not VM_NOHUGEPAGE, not special, and large
    /// enough for one 2 MiB-aligned range (at its file offset for files). Linux: mm/khugepaged.c
    /// madvise_collapse() → thp_vma_allowable_order() / thp_vma_suitable_order().
    /// </summary>
    private static bool MadviseCollapseAllowed(Vma vma)
    {
        if ((vma.Flags & (VmFlags.NoHugePage | VmFlags.Special | VmFlags.HugeTlb)) != 0)
        {
            return false;
        }

        const ulong hpage = PageConstants.PmdSize;
        ulong vmStart = vma.Start;
        if (!vma.IsAnonymous)
        {
            // The file offset must be as aligned as the address.
            ulong off = vma.PgOff << PageConstants.PageShift;
            if (((vmStart - off) & (hpage - 1)) != 0)
            {
                return false;
            }
        }

        ulong haddr = (vmStart + hpage - 1) & ~(hpage - 1);
        return haddr >= vmStart && haddr + hpage <= vma.End;
    }

    /// <summary>Linux: mm/madvise.c madvise_dontneed_free().</summary>
    private static Errno MadviseDontNeedFree(AddressSpace mm, Vma vma, ulong start, ulong end, Madvise advice)
    {
        VmFlags forbidden = VmFlags.PfnMap;
        if (advice != Madvise.DontNeedLocked)
        {
            forbidden |= VmFlags.Locked;
        }

        if ((vma.Flags & forbidden) != 0)
        {
            return Errno.EINVAL;
        }

        if (advice == Madvise.Free)
        {
            // Lazy free: the pages stay mapped (and resident, as mincore shows) until memory pressure reclaims
            // them, which the model never applies; their entries are cleaned and aged and the pages marked
            // lazily freeable. Linux: madvise_free_pte_range(), folio_mark_lazyfree().
            if (!vma.IsAnonymous)
            {
                return Errno.EINVAL;
            }

            MadviseFreePages(mm, start, end);
            return Errno.None;
        }

        mm.Pages.ClearKeepingGuards(start >> PageConstants.PageShift, end >> PageConstants.PageShift, MemoryOps.HasRecency(vma));
        return Errno.None;
    }

    /// <summary>
    /// MADV_COLD and MADV_PAGEOUT on the pages only this entry maps: their referenced bit is cleared; COLD also
    /// ages the entry and deactivates the page; PAGEOUT puts back what it cannot reclaim (anonymous and shmem
    /// pages, with no swap) on the active list. Linux: mm/madvise.c madvise_cold_or_pageout_pte_range(),
    /// mm/swap.c folio_deactivate(), mm/vmscan.c shrink_folio_list() activate_locked.
    /// </summary>
    private static void AgeExclusivePages(AddressSpace mm, ulong start, ulong end, bool pageout)
    {
        List<(ulong Vpn, Pte Pte)> entries = mm.MadvisePageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(start >> PageConstants.PageShift, end >> PageConstants.PageShift, entries);
        PhysicalMemory memory = mm.Pages.Memory;
        foreach ((ulong vpn, Pte pte) in entries)
        {
            if (!pte.HasFrame || memory.MapCount(pte.Frame) > 1)
            {
                continue;
            }

            if (!pageout && pte.Young)
            {
                mm.Pages.SetYoung(vpn, young: false);
            }

            memory.Deactivate(pte.Frame, keepActive: pageout && (pte.Kind == PteKind.AnonPage || pte.Shmem));
        }

        entries.Clear();
    }

    private static void MadviseFreePages(AddressSpace mm, ulong start, ulong end)
    {
        List<(ulong Vpn, Pte Pte)> entries = mm.MadvisePageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(start >> PageConstants.PageShift, end >> PageConstants.PageShift, entries);
        foreach ((ulong vpn, Pte pte) in entries)
        {
            if (pte.Kind != PteKind.AnonPage)
            {
                continue;
            }

            mm.Pages.SetDirty(vpn, dirty: false);
            mm.Pages.SetYoung(vpn, young: false);
            if (mm.Pages.Memory.MapCount(pte.Frame) == 1)
            {
                mm.Pages.Memory.SetDirty(pte.Frame, dirty: false);
            }

            mm.Pages.Memory.MarkLazyFree(pte.Frame);
            // Seen on the host: the page is no longer referenced once MADV_FREE returns (lru_lazyfree()
            // clears PG_referenced and PG_active).
            mm.Pages.Memory.Deactivate(pte.Frame, keepActive: false);
        }

        entries.Clear();
    }

    /// <summary>Linux: mm/madvise.c madvise_remove(): punches a hole in a shared, writable file mapping.</summary>
    private static Errno MadviseRemove(AddressSpace mm, Vma vma, ulong start, ulong end)
    {
        if ((vma.Flags & VmFlags.Locked) != 0 || vma.File is null)
        {
            return Errno.EINVAL;
        }

        if ((vma.Flags & (VmFlags.Shared | VmFlags.MayWrite)) != (VmFlags.Shared | VmFlags.MayWrite))
        {
            return Errno.EACCES;
        }

        // fallocate(PUNCH_HOLE): the pages leave every mapping of the file, in every process (private copies
        // stay), then the page cache. Linux: mm/shmem.c shmem_fallocate() → unmap_mapping_range(..., 0),
        // shmem_truncate_range().
        ulong firstPg = vma.PgOff + ((start - vma.Start) >> PageConstants.PageShift);
        ulong pages = (end - start) >> PageConstants.PageShift;
        foreach (AddressSpace other in mm.Manager.AddressSpaces)
        {
            MemoryOps.UnmapMappingRange(other, vma.File.Inode, firstPg, firstPg + pages, evenCows: false);
        }

        for (ulong i = 0; i < pages; i++)
        {
            vma.File.PageCache.Remove(firstPg + i);
        }

        return Errno.None;
    }

    /// <summary>Linux: mm/madvise.c madvise_populate() via faultin_page_range() with FOLL_MADV_POPULATE.</summary>
    private static Errno MadvisePopulate(AddressSpace mm, ulong start, ulong end, bool write)
    {
        ulong addr = start;
        while (addr < end)
        {
            Vma? vma = mm.Tree.Lookup(addr);
            if (vma is null)
            {
                return Errno.ENOMEM;
            }

            if (MemoryOps.CheckVmaFlags(vma, write, force: false) != Errno.None)
            {
                return Errno.EINVAL;
            }

            ulong stop = Math.Min(end, vma.End);
            for (ulong a = addr; a < stop; a += PageConstants.PageSize)
            {
                if (!MemoryOps.GupFaultIn(mm, vma, a, write))
                {
                    // VM_FAULT_SIGBUS: a page past the end of the file.
                    return Errno.EFAULT;
                }
            }

            addr = stop;
        }

        return Errno.None;
    }

    internal static bool IsResident(AddressSpace mm, Vma vma, ulong addr)
    {
        // A guard marker counts as no entry (pte_none_mostly()): the page cache decides for file mappings.
        // Linux: mm/mincore.c mincore_pte_range().
        if (mm.Pages.TryGet(addr >> PageConstants.PageShift, out PteKind kind) && kind != PteKind.Guard)
        {
            return true;
        }

        if (vma.File is { } file)
        {
            return file.PageCache.Contains(vma.PgOff + ((addr - vma.Start) >> PageConstants.PageShift));
        }

        return false;
    }
}
