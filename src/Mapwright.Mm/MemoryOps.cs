using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// Faults and population: anon_vma preparation, the page-fault handler, fault-around, get_user_pages' faulting
/// in and populate (this file); reading and writing user memory (<c>MemoryOps.UserAccess.cs</c>); driver page
/// insertion and unmapping a file range (<c>MemoryOps.Mapping.cs</c>).
/// Linux: mm/memory.c, mm/gup.c.
/// </summary>
internal static partial class MemoryOps
{
    /// <summary>
    /// Gives a VMA its anon_vma, reusing a neighbour's when the two could have been one VMA but for their
    /// access flags. Linux: mm/rmap.c __anon_vma_prepare() and find_mergeable_anon_vma().
    /// </summary>
    internal static void AnonVmaPrepare(AddressSpace mm, Vma vma)
    {
        if (vma.AnonVma is not null)
        {
            return;
        }

        AnonVma? found = null;
        // reusable_anon_vma(): only a neighbour whose anon_vma chain is its own anon_vma alone (not forked).
        if (vma.NextVma is { } next && next.AnonVma is not null && !next.ForkedAnon && AnonVmaCompatible(vma, next))
        {
            found = next.AnonVma;
        }
        else if (vma.PrevVma is { } prev && prev.AnonVma is not null && !prev.ForkedAnon && AnonVmaCompatible(prev, vma))
        {
            found = prev.AnonVma;
        }

        vma.AnonVma = found ?? new AnonVma();
    }

    /// <summary>Linux: mm/rmap.c anon_vma_compatible().</summary>
    private static bool AnonVmaCompatible(Vma a, Vma b) =>
        a.End == b.Start && ReferenceEquals(a.File, b.File)
        && ((a.Flags ^ b.Flags) & ~(VmFlags.AccessFlags | VmFlags.Sticky)) == 0
        && b.PgOff == a.PgOff + ((b.Start - a.Start) >> PageConstants.PageShift);

    /// <summary>
    /// Resolves a fault at one page of a VMA the caller has already checked. Returns false for a page of a
    /// file past its end (VM_FAULT_SIGBUS) or a guard marker (VM_FAULT_SIGSEGV).
    /// Linux: mm/memory.c handle_mm_fault(): do_anonymous_page(), do_read_fault(), do_cow_fault(),
    /// do_shared_fault(), do_wp_page(); mm/shmem.c shmem_fault(), mm/filemap.c filemap_fault().
    /// </summary>
    internal static bool FaultInPage(AddressSpace mm, Vma vma, ulong addr, bool write)
    {
        bool present = mm.Pages.TryGetPte(addr >> PageConstants.PageShift, out Pte pte);
        return HandleFault(mm, vma, addr, write, present, pte, out _);
    }

    /// <summary>As <see cref="FaultInPage"/>, with the entry the caller already looked up; <paramref name="result"/>
    /// is the entry after the fault.</summary>
    private static bool HandleFault(AddressSpace mm, Vma vma, ulong addr, bool write, bool present, Pte pte, out Pte result)
    {
        ulong vpn = addr >> PageConstants.PageShift;
        result = pte;
        if (present && pte.Kind == PteKind.Guard)
        {
            return false;
        }

        PhysicalMemory memory = mm.Pages.Memory;
        if (present && pte.Kind == PteKind.AnonPage)
        {
            if (write)
            {
                result = WriteProtectFault(mm, vma, vpn, pte);
            }

            return true;
        }

        bool shared = (vma.Flags & VmFlags.Shared) != 0;
        if (vma.File is { } file && !vma.IsAnonymous)
        {
            if (present && !write)
            {
                return true;
            }

            ulong pgoff = vma.PgOff + ((addr - vma.Start) >> PageConstants.PageShift);
            if (!present && !write && vma.VmOps?.MapPages == true)
            {
                // Fault-around runs before the page's own fault, which may still end in SIGBUS past EOF.
                FaultAround(mm, vma, file, addr);
            }

            if (!present && write && !shared)
            {
                // do_cow_fault() prepares the anon_vma before it reads the page, so the VMA has one even when
                // the read then fails with SIGBUS (which changes how it merges later).
                AnonVmaPrepare(mm, vma);
            }

            if (!present && file.Size != ulong.MaxValue && pgoff >= PageConstants.PageAlign(file.Size) >> PageConstants.PageShift)
            {
                return false;
            }

            if (present && shared)
            {
                // A write to a shared page already mapped. Without write-notify (shmem) the entry is writable
                // already: the hardware dirties the entry, not the page. With it, the write faults and the page
                // is dirtied too. Linux: do_wp_page() → wp_page_shared() → do_page_mkwrite(),
                // fault_dirty_shared_page().
                if (!pte.Dirty && vma.VmOps?.PageMkwrite is { } mkwrite
                    && mkwrite(new VmFault(vma, pgoff, write: true, memory, file.PageCache)) != Errno.None)
                {
                    return false;
                }

                if (vma.VmOps?.WriteNotify == true || vma.VmOps?.PageMkwrite is not null)
                {
                    memory.SetDirty(pte.Frame, dirty: true);
                }

                mm.Pages.SetDirty(vpn, dirty: true);
                result = pte.WithDirty(dirty: true);
                return true;
            }


            if (!present && vma.VmOps?.Fault is { } faultHook
                && faultHook(new VmFault(vma, pgoff, write, memory, file.PageCache)) != Errno.None)
            {
                // The driver's fault handler refused the page: VM_FAULT_SIGBUS.
                return false;
            }

            int frame = present ? pte.Frame : file.PageCache.GetOrAdd(memory, pgoff);
            if (!present && write && shared && vma.VmOps?.PageMkwrite is { } pageMkwrite
                && pageMkwrite(new VmFault(vma, pgoff, write: true, memory, file.PageCache)) != Errno.None)
            {
                // do_shared_fault(): page_mkwrite refused the write.
                return false;
            }

            if (shared || !write)
            {
                if (write)
                {
                    memory.SetDirty(frame, dirty: true);
                }

                result = new Pte(PteKind.FilePage, frame, dirty: write, shmem: file.Inode.IsShmem);
                mm.Pages.Set(vpn, result);
                return true;
            }

            // Copy-on-write of a private file page.
            AnonVmaPrepare(mm, vma);
            result = new Pte(PteKind.AnonPage, memory.AllocateCopy(frame), dirty: true);
            mm.Pages.Set(vpn, result);
            return true;
        }

        if (write)
        {
            // A write to nothing or to the zero page: a new zeroed anonymous page.
            AnonVmaPrepare(mm, vma);
            result = new Pte(PteKind.AnonPage, memory.Allocate(), dirty: true);
            mm.Pages.Set(vpn, result);
        }
        else if (!present && mm.Config.ZeroPage)
        {
            result = new Pte(PteKind.ZeroPage, PhysicalMemory.ZeroFrame, dirty: false);
            mm.Pages.Set(vpn, result);
        }
        else if (!present)
        {
            // A kernel that forbids the zero page gives a read fault a zeroed page of its own, dirty in a writable
            // VMA (the entry is made writable and dirty at once). Linux: do_anonymous_page(), mm_forbids_zeropage().
            AnonVmaPrepare(mm, vma);
            bool writable = (vma.Flags & VmFlags.Write) != 0;
            result = new Pte(PteKind.AnonPage, memory.Allocate(), dirty: writable);
            mm.Pages.Set(vpn, result);
        }

        return true;
    }

    /// <summary>Pages around a read fault mapped from the page cache at once.
    /// Linux: mm/memory.c fault_around_bytes (64 KiB).</summary>
    private const ulong FaultAroundPages = 16;

    /// <summary>
    /// Maps the pages of the 64 KiB-aligned window around a read fault that are already in the page cache,
    /// within the VMA, the page table and the file: clean, young, as the fault's own page would be. The faulting
    /// page itself is left to the fault. Linux: mm/memory.c do_read_fault() → do_fault_around() →
    /// mm/filemap.c filemap_map_pages().
    /// </summary>
    private static void FaultAround(AddressSpace mm, Vma vma, MappedFile file, ulong addr)
    {
        ulong vpn = addr >> PageConstants.PageShift;
        ulong pteOff = vpn & 511;
        ulong vmaOff = (addr - vma.Start) >> PageConstants.PageShift;
        ulong fromPte = Math.Max(pteOff & ~(FaultAroundPages - 1), pteOff - Math.Min(pteOff, vmaOff));
        ulong toPte = Math.Min(Math.Min(fromPte + FaultAroundPages, 512), pteOff + vma.Pages - vmaOff);
        ulong pgoff = vma.PgOff + vmaOff;
        ulong fileEnd = file.Size == ulong.MaxValue ? ulong.MaxValue : PageConstants.PageAlign(file.Size) >> PageConstants.PageShift;
        bool shmem = file.Inode.IsShmem;
        for (ulong p = fromPte; p < toPte; p++)
        {
            if (p == pteOff)
            {
                continue;
            }

            ulong pageOff = pgoff + p - pteOff;
            ulong v = vpn + p - pteOff;
            if (pageOff >= fileEnd || !file.PageCache.TryGet(pageOff, out int frame) || mm.Pages.TryGetPte(v, out _))
            {
                continue;
            }

            mm.Pages.Set(v, new Pte(PteKind.FilePage, frame, dirty: false, shmem));
        }
    }

    /// <summary>
    /// get_user_pages() on one page: a fault unless the entry already allows the access (a write to a shmem
    /// page mapped writable needs none: the entry stays clean, and the touch dirties the page), then the touch.
    /// Returns false where the fault fails. Linux: mm/gup.c __get_user_pages() → follow_page_pte() /
    /// faultin_page().
    /// </summary>
    internal static bool GupFaultIn(AddressSpace mm, Vma vma, ulong addr, bool write)
    {
        bool present = mm.Pages.TryGetPte(addr >> PageConstants.PageShift, out Pte pte);
        bool writable = present && pte.Kind == PteKind.FilePage && (vma.Flags & VmFlags.Shared) != 0
            && vma.VmOps is { WriteNotify: false, PageMkwrite: null };
        if (!(write && writable) && !HandleFault(mm, vma, addr, write, present, pte, out _))
        {
            return false;
        }

        GupTouch(mm, vma, addr, write);
        return true;
    }

    /// <summary>
    /// get_user_pages() touching a page it faulted in or found: a write marks a clean page dirty, and the page
    /// is marked accessed. Linux: mm/gup.c follow_page_pte() with FOLL_TOUCH, mm/swap.c folio_mark_accessed().
    /// </summary>
    private static void GupTouch(AddressSpace mm, Vma vma, ulong addr, bool write)
    {
        if (!mm.Pages.TryGetPte(addr >> PageConstants.PageShift, out Pte pte) || !pte.HasFrame)
        {
            return;
        }

        if (write && !pte.Dirty && !mm.Pages.Memory.IsDirty(pte.Frame))
        {
            mm.Pages.Memory.SetDirty(pte.Frame, dirty: true);
        }

        // An mlocked page is unevictable (do_mlock() drains the per-CPU batches first): marking it accessed
        // again changes nothing. Linux: folio_mark_accessed()'s folio_test_unevictable() case.
        if ((vma.Flags & VmFlags.Locked) != 0 && mm.Pages.Memory.IsReferenced(pte.Frame))
        {
            return;
        }

        mm.Pages.Memory.MarkAccessed(pte.Frame);
    }

    /// <summary>
    /// A write to a present anonymous page: written in place if this entry is its only user, copied first if a
    /// fork left it shared. Linux: mm/memory.c do_wp_page() → wp_can_reuse_anon_folio() / wp_page_copy().
    /// </summary>
    private static Pte WriteProtectFault(AddressSpace mm, Vma vma, ulong vpn, Pte pte)
    {
        PhysicalMemory memory = mm.Pages.Memory;
        if (memory.RefCount(pte.Frame) > 1)
        {
            AnonVmaPrepare(mm, vma);
            var copy = new Pte(PteKind.AnonPage, memory.AllocateCopy(pte.Frame), dirty: true);
            mm.Pages.Set(vpn, copy);
            return copy;
        }

        if (!pte.Dirty)
        {
            mm.Pages.SetDirty(vpn, dirty: true);
        }

        return pte.WithDirty(dirty: true);
    }

    /// <summary>
    /// Faults in [start, end) of one VMA as get_user_pages would for populate. Returns <see cref="Errno.None"/> or the errno
    /// (EFAULT for a VMA that cannot be faulted this way).
    /// Linux: mm/gup.c populate_vma_page_range() and check_vma_flags().
    /// </summary>
    internal static Errno PopulateVmaRange(AddressSpace mm, Vma vma, ulong start, ulong end)
    {
        if ((vma.Flags & VmFlags.LockOnFault) != 0)
        {
            return Errno.None;
        }

        bool write = (vma.Flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
        bool force = !write && (vma.Flags & VmFlags.AccessFlags) != 0;
        Errno err = CheckVmaFlags(vma, write, force);
        if (err != Errno.None)
        {
            return err;
        }

        for (ulong a = start; a < end; a += PageConstants.PageSize)
        {
            if (!GupFaultIn(mm, vma, a, write))
            {
                return Errno.EFAULT;
            }
        }

        return Errno.None;
    }

    /// <summary>Linux: mm/gup.c check_vma_flags().</summary>
    internal static Errno CheckVmaFlags(Vma vma, bool write, bool force)
    {
        VmFlags f = vma.Flags;
        if ((f & (VmFlags.Io | VmFlags.PfnMap)) != 0)
        {
            return Errno.EFAULT;
        }

        if (write)
        {
            if ((f & VmFlags.Write) == 0 || (f & VmFlags.ShadowStack) != 0)
            {
                if (!force)
                {
                    return Errno.EFAULT;
                }

                // is_cow_mapping(): private and may-write.
                if ((f & (VmFlags.Shared | VmFlags.MayWrite)) != VmFlags.MayWrite)
                {
                    return Errno.EFAULT;
                }
            }
        }
        else if ((f & VmFlags.Read) == 0)
        {
            if (!force || (f & VmFlags.MayRead) == 0)
            {
                return Errno.EFAULT;
            }
        }

        return Errno.None;
    }

    /// <summary>
    /// Faults in every VMA page of [start, start + len). Returns 0 or the first error (unless ignoring errors).
    /// Linux: mm/gup.c __mm_populate().
    /// </summary>
    /// <remarks>Requires: mmap lock held (Linux takes it for read; exec holds it for write).</remarks>
    internal static Errno MmPopulate(AddressSpace mm, ulong start, ulong len, bool ignoreErrors)
    {
        Locking.LockAssert.MmapLocked(mm.MmapLock, "__mm_populate");
        ulong end = start + len;
        ulong nstart = start;
        while (nstart < end)
        {
            Vma? vma = mm.Tree.FindVma(nstart);
            if (vma is null || vma.Start >= end)
            {
                break;
            }

            ulong nend = Math.Min(end, vma.End);
            if ((vma.Flags & (VmFlags.Io | VmFlags.PfnMap)) == 0)
            {
                if (nstart < vma.Start)
                {
                    nstart = vma.Start;
                }

                Errno err = PopulateVmaRange(mm, vma, nstart, nend);
                if (err != Errno.None && !ignoreErrors)
                {
                    return err;
                }
            }

            nstart = nend;
        }

        return Errno.None;
    }
}
