using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>Pages a driver inserts, and unmapping a file range from every mapping (truncate, hole punch).
/// Linux: mm/memory.c vm_insert_pages(), unmap_mapping_range(); mm/truncate.c.</summary>
internal static partial class MemoryOps
{
    /// <summary>Maps driver pages into [start, end) of a VMA: they are resident at once.
    /// Linux: mm/memory.c vm_insert_pages() / remap_pfn_range().</summary>
    internal static void InsertPagesForDriver(AddressSpace mm, IVmArea vma, ulong start, ulong end)
    {
        ArgumentNullException.ThrowIfNull(vma);
        InsertPages(mm, (Vma)vma, start, end);
    }

    private static void InsertPages(AddressSpace mm, Vma vma, ulong start, ulong end)
    {
        Diagnostics.Bug.On(start < vma.Start || end > vma.End, $"insert of {start:x}-{end:x} outside {vma}");

        // remap_pfn_range() installs special entries in a VM_PFNMAP VMA; vm_insert_pages() normal pages, and
        // makes the VMA VM_MIXEDMAP.
        bool pfn = (vma.Flags & VmFlags.PfnMap) != 0;
        if (!pfn)
        {
            vma.Flags |= VmFlags.MixedMap;
        }

        for (ulong a = start; a < end; a += PageConstants.PageSize)
        {
            int frame = vma.File is { } file
                ? file.PageCache.GetOrAdd(mm.Pages.Memory, vma.PgOff + ((a - vma.Start) >> PageConstants.PageShift))
                : mm.Pages.Memory.Allocate();
            mm.Pages.Set(a >> PageConstants.PageShift, new Pte(pfn ? PteKind.PfnPage : PteKind.FilePage, frame, dirty: false));
        }
    }

    /// <summary>
    /// Unmaps the pages of an inode from <paramref name="newSize"/> on from every mapping of it in this address
    /// space, private copies included (even_cows). The caller does this for every address space of the machine,
    /// then calls <see cref="TruncatePageCache"/>.
    /// Linux: mm/truncate.c truncate_pagecache() → unmap_mapping_range(..., even_cows=1).
    /// </summary>
    internal static void TruncateMappings(AddressSpace mm, Inode inode, ulong newSize) =>
        UnmapMappingRange(mm, inode, PageConstants.PageAlign(newSize) >> PageConstants.PageShift, ulong.MaxValue, evenCows: true);

    /// <summary>
    /// Unmaps file pages [<paramref name="firstPgoff"/>, <paramref name="endPgoff"/>) of an inode from every
    /// mapping of it in this address space; private copy-on-write copies too when <paramref name="evenCows"/>.
    /// Linux: mm/memory.c unmap_mapping_range() → unmap_mapping_range_tree().
    /// </summary>
    internal static void UnmapMappingRange(AddressSpace mm, Inode inode, ulong firstPgoff, ulong endPgoff, bool evenCows)
    {
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            if (v.File is null || !ReferenceEquals(v.File.Inode, inode) || v.PgOff + v.Pages <= firstPgoff || v.PgOff >= endPgoff)
            {
                continue;
            }

            ulong from = v.PgOff >= firstPgoff ? v.Start : v.Start + ((firstPgoff - v.PgOff) << PageConstants.PageShift);
            ulong to = endPgoff - v.PgOff >= v.Pages ? v.End : v.Start + ((endPgoff - v.PgOff) << PageConstants.PageShift);
            if (evenCows)
            {
                // Ordinary zapping keeps guard markers (zap_nonpresent_ptes() without ZAP_FLAG_DROP_MARKER).
                mm.Pages.ClearKeepingGuards(from >> PageConstants.PageShift, to >> PageConstants.PageShift, HasRecency(v));
                continue;
            }

            for (ulong vpn = from >> PageConstants.PageShift; vpn < to >> PageConstants.PageShift; vpn++)
            {
                if (mm.Pages.TryGet(vpn, out PteKind kind) && kind == PteKind.FilePage)
                {
                    mm.Pages.Clear(vpn, vpn + 1);
                }
            }
        }
    }

    /// <summary>Drops the page-cache pages of an inode from <paramref name="newSize"/> on and zeroes the tail of
    /// the last page. Linux: mm/truncate.c truncate_inode_pages_range().</summary>
    internal static void TruncatePageCache(Inode inode, ulong newSize)
    {
        inode.PageCache.RemoveFrom(PageConstants.PageAlign(newSize) >> PageConstants.PageShift);
        inode.PageCache.ZeroTail(newSize);
    }

    /// <summary>Shared, may-write VMAs of an inode in this address space: Linux's i_mmap_writable for a
    /// single process. Linux: include/linux/fs.h mapping_deny_writable().</summary>
    internal static int CountWritableMappings(AddressSpace mm, Inode inode)
    {
        int n = 0;
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            if (v.File is { } f && ReferenceEquals(f.Inode, inode) && (v.Flags & (VmFlags.Shared | VmFlags.MayWrite)) == (VmFlags.Shared | VmFlags.MayWrite))
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>True if a VMA of this address space maps a file of <paramref name="inode"/>.</summary>
    internal static bool MapsInode(AddressSpace mm, Inode inode)
    {
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            if (v.File is { } f && ReferenceEquals(f.Inode, inode))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Linux: mm/internal.h vma_has_recency(): no MADV_SEQUENTIAL or MADV_RANDOM.</summary>
    internal static bool HasRecency(Vma vma) => (vma.Flags & (VmFlags.SeqRead | VmFlags.RandRead)) == 0;
}
