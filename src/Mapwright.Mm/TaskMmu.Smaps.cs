using System.Globalization;
using System.Text;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>/proc/PID/smaps and the memory lines of /proc/PID/status. Linux: fs/proc/task_mmu.c.</summary>
internal static partial class TaskMmu
{
    private const int PssShift = 12;

    /// <summary>
    /// What <paramref name="vma"/> holds resident, walking its page-table entries. A page mapped by two or more
    /// entries (in any address space: after fork, or a shared file page) is shared and its Pss is divided among
    /// them. Linux: fs/proc/task_mmu.c smaps_pte_entry() → smaps_account() → smaps_page_accumulate().
    /// </summary>
    internal static VmaMemoryUsage MemoryUsage(AddressSpace mm, Vma vma)
    {
        ulong rss = 0, pss = 0, pssDirty = 0, sharedClean = 0, sharedDirty = 0, privateClean = 0, privateDirty = 0;
        ulong referenced = 0, anonymous = 0, lazyFree = 0;
        PhysicalMemory memory = mm.Pages.Memory;
        List<(ulong Vpn, Pte Pte)> entries = mm.TaskMmuPageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(vma.Start >> PageConstants.PageShift, vma.End >> PageConstants.PageShift, entries);
        foreach ((ulong _, Pte pte) in entries)
        {
            if (!pte.HasFrame || pte.Kind == PteKind.PfnPage)
            {
                // vm_normal_page() is NULL for the zero page and PFN pages; guard markers are not present.
                continue;
            }

            const ulong size = PageConstants.PageSize;
            int frame = pte.Frame;
            bool frameDirty = memory.IsDirty(frame);
            rss += size;
            if (pte.Kind == PteKind.AnonPage)
            {
                anonymous += size;
                if (memory.IsLazyFree(frame) && !pte.Dirty && !frameDirty)
                {
                    lazyFree += size;
                }
            }

            if (pte.Young || memory.IsReferenced(frame))
            {
                referenced += size;
            }

            int mapcount = memory.MapCount(frame);
            ulong share = (size << PssShift) / (ulong)Math.Max(1, mapcount);
            pss += share;
            bool isPrivate = mapcount < 2;
            if (pte.Dirty || frameDirty)
            {
                pssDirty += share;
                if (isPrivate)
                {
                    privateDirty += size;
                }
                else
                {
                    sharedDirty += size;
                }
            }
            else if (isPrivate)
            {
                privateClean += size;
            }
            else
            {
                sharedClean += size;
            }
        }

        entries.Clear();
        return new VmaMemoryUsage
        {
            Size = vma.Length,
            Rss = rss,
            Pss = pss >> PssShift,
            PssDirty = pssDirty >> PssShift,
            SharedClean = sharedClean,
            SharedDirty = sharedDirty,
            PrivateClean = privateClean,
            PrivateDirty = privateDirty,
            Referenced = referenced,
            Anonymous = anonymous,
            LazyFree = lazyFree,
            Locked = (vma.Flags & VmFlags.Locked) != 0 ? pss >> PssShift : 0,
            ThpEligible = ThpEligible(mm, vma),
        };
    }

    /// <summary>
    /// THPeligible: a PMD-sized huge page could back the VMA. Anonymous VMAs qualify under THP "always", or
    /// "madvise" with MADV_HUGEPAGE, when a 2 MiB-aligned block fits below their end at an aligned offset;
    /// shmem (shmem_enabled "never") and other files do not.
    /// Linux: mm/huge_memory.c __thp_vma_allowable_orders() with TVA_SMAPS, thp_vma_suitable_order().
    /// </summary>
    private static bool ThpEligible(AddressSpace mm, Vma vma)
    {
        VmFlags f = vma.Flags;
        if (mm.Config.ThpMode == ThpMode.Never || (f & VmFlags.NoHugePage) != 0 || !vma.IsAnonymous || (f & VmFlags.HugeTlb) != 0)
        {
            return false;
        }

        if (mm.Config.ThpMode == ThpMode.Madvise && (f & VmFlags.HugePage) == 0)
        {
            return false;
        }

        if (vma.End - vma.Start < PageConstants.PmdSize)
        {
            return false;
        }

        ulong pmdPages = PageConstants.PmdSize >> PageConstants.PageShift;
        if (((vma.Start >> PageConstants.PageShift) - vma.PgOff) % pmdPages != 0)
        {
            return false;
        }

        ulong haddr = (vma.End - PageConstants.PmdSize) & ~(PageConstants.PmdSize - 1);
        return haddr >= vma.Start;
    }

    /// <summary>The memory lines of /proc/PID/status. Linux: fs/proc/task_mmu.c task_mem().</summary>
    internal static MemoryStatus Status(AddressSpace mm) => new()
    {
        VmPeak = Math.Max(mm.HiwaterVm, mm.TotalVm),
        VmSize = mm.TotalVm,
        VmLck = mm.LockedVm,
        VmHwm = (ulong)Math.Max(mm.Pages.HiwaterRss, mm.Pages.AnonPages + mm.Pages.FilePages + mm.Pages.ShmemPages),
        RssAnon = (ulong)mm.Pages.AnonPages,
        RssFile = (ulong)mm.Pages.FilePages,
        RssShmem = (ulong)mm.Pages.ShmemPages,
        VmData = mm.DataVm,
        VmStk = mm.StackVm,
        VmExe = TextPages(mm),
        VmLib = mm.ExecVm - TextPages(mm),
        VmPte = PageTablePages(mm),
        VmSwap = 0,
    };

    /// <summary>The program's text in pages: its code range, at most the executable pages mapped.
    /// Linux: fs/proc/task_mmu.c task_mem() (text = PAGE_ALIGN(end_code) - (start_code &amp; PAGE_MASK)).</summary>
    private static ulong TextPages(AddressSpace mm)
    {
        ulong text = unchecked(PageConstants.PageAlign(mm.EndCode) - (mm.StartCode & PageConstants.PageMask));
        return Math.Min(text >> PageConstants.PageShift, mm.ExecVm);
    }

    /// <summary>Page-table pages (PTE, PMD and PUD tables) the present entries need. Linux: mm_pgtables_bytes(),
    /// which also counts tables emptied but not yet freed.</summary>
    private static ulong PageTablePages(AddressSpace mm)
    {
        if (mm.Pages.Count == 0)
        {
            return 0;
        }

        var pte = new HashSet<ulong>();
        var pmd = new HashSet<ulong>();
        var pud = new HashSet<ulong>();
        List<(ulong Vpn, Pte Pte)> entries = mm.TaskMmuPageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(0, ulong.MaxValue - 1, entries);
        foreach ((ulong vpn, Pte _) in entries)
        {
            pte.Add(vpn >> 9);
            pmd.Add(vpn >> 18);
            pud.Add(vpn >> 27);
        }

        entries.Clear();
        return (ulong)(pte.Count + pmd.Count + pud.Count);
    }

    /// <summary>/proc/PID/smaps, byte for byte as Linux 6.18 prints it on x86-64. Linux: show_smap().</summary>
    internal static string FormatSmaps(AddressSpace mm)
    {
        var sb = new StringBuilder(mm.Tree.Count * 900);
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            AppendMapsLine(mm, sb, v);
            AppendSmapsFields(mm, sb, MemoryUsage(mm, v), v.Flags);
        }

        foreach (string line in mm.GateLineList)
        {
            // The vsyscall page: a gate VMA with VM_EXEC only and nothing counted.
            sb.Append(line).Append('\n');
            AppendSmapsFields(mm, sb, new VmaMemoryUsage { Size = PageConstants.PageSize }, VmFlags.Exec);
        }

        return sb.ToString();
    }

    private static void AppendSmapsFields(AddressSpace mm, StringBuilder sb, VmaMemoryUsage u, VmFlags flags)
    {
        Kb(sb, "Size:           ", u.Size);
        Kb(sb, "KernelPageSize: ", PageConstants.PageSize);
        Kb(sb, "MMUPageSize:    ", PageConstants.PageSize);
        Kb(sb, "Rss:            ", u.Rss);
        Kb(sb, "Pss:            ", u.Pss);
        Kb(sb, "Pss_Dirty:      ", u.PssDirty);
        Kb(sb, "Shared_Clean:   ", u.SharedClean);
        Kb(sb, "Shared_Dirty:   ", u.SharedDirty);
        Kb(sb, "Private_Clean:  ", u.PrivateClean);
        Kb(sb, "Private_Dirty:  ", u.PrivateDirty);
        Kb(sb, "Referenced:     ", u.Referenced);
        Kb(sb, "Anonymous:      ", u.Anonymous);
        if (mm.Config.KsmEnabled)
        {
            Kb(sb, "KSM:            ", 0);
        }

        Kb(sb, "LazyFree:       ", u.LazyFree);
        Kb(sb, "AnonHugePages:  ", 0);
        Kb(sb, "ShmemPmdMapped: ", 0);
        Kb(sb, "FilePmdMapped:  ", 0);
        Kb(sb, "Shared_Hugetlb: ", 0);
        Kb(sb, "Private_Hugetlb:", 0);
        Kb(sb, "Swap:           ", 0);
        Kb(sb, "SwapPss:        ", 0);
        Kb(sb, "Locked:         ", u.Locked);
        sb.Append("THPeligible:    ").Append(' ', 7).Append(u.ThpEligible ? '1' : '0').Append('\n');
        if (mm.Config.ProtectionKeys)
        {
            sb.Append("ProtectionKey:  ").Append(' ', 7).Append('0').Append('\n');
        }

        sb.Append("VmFlags: ");
        AppendVmFlagMnemonics(sb, flags);
        sb.Append('\n');
    }

    /// <summary>"Name:" then the value in kB right-aligned in 8 columns (the name is padded to 16), " kB".
    /// Linux: SEQ_PUT_DEC() / seq_put_decimal_ull_width(..., 8).</summary>
    private static void Kb(StringBuilder sb, string paddedName, ulong bytes)
    {
        string kb = (bytes >> 10).ToString(CultureInfo.InvariantCulture);
        sb.Append(paddedName);
        if (kb.Length < 8)
        {
            sb.Append(' ', 8 - kb.Length);
        }

        sb.Append(kb).Append(" kB\n");
    }

    /// <summary>The two-letter VmFlags names, lowest bit first, each followed by a space. Protection-key bits print
    /// as ProtectionKey, soft-dirty not at all (CONFIG_MEM_SOFT_DIRTY is off on the reference host).
    /// Linux: fs/proc/task_mmu.c show_smap_vma_flags().</summary>
    private static void AppendVmFlagMnemonics(StringBuilder sb, VmFlags flags)
    {
        for (int bit = 0; bit < 64; bit++)
        {
            var f = (VmFlags)(1UL << bit);
            if ((flags & f) == 0)
            {
                continue;
            }

            string? name = f switch
            {
                VmFlags.Read => "rd",
                VmFlags.Write => "wr",
                VmFlags.Exec => "ex",
                VmFlags.Shared => "sh",
                VmFlags.MayRead => "mr",
                VmFlags.MayWrite => "mw",
                VmFlags.MayExec => "me",
                VmFlags.MayShare => "ms",
                VmFlags.GrowsDown => "gd",
                VmFlags.PfnMap => "pf",
                VmFlags.MaybeGuard => "gu",
                VmFlags.Locked => "lo",
                VmFlags.Io => "io",
                VmFlags.SeqRead => "sr",
                VmFlags.RandRead => "rr",
                VmFlags.DontCopy => "dc",
                VmFlags.DontExpand => "de",
                VmFlags.LockOnFault => "lf",
                VmFlags.Account => "ac",
                VmFlags.NoReserve => "nr",
                VmFlags.HugeTlb => "ht",
                VmFlags.Sync => "sf",
                VmFlags.Pat => "ar",
                VmFlags.WipeOnFork => "wf",
                VmFlags.DontDump => "dd",
                VmFlags.MixedMap => "mm",
                VmFlags.HugePage => "hg",
                VmFlags.NoHugePage => "nh",
                VmFlags.Mergeable => "mg",
                VmFlags.UffdMissing => "um",
                VmFlags.UffdWp => "uw",
                VmFlags.ShadowStack => "ss",
                VmFlags.Droppable => "dp",
                VmFlags.Sealed => "sl",
                _ => null,
            };
            if (name is not null)
            {
                sb.Append(name).Append(' ');
            }
        }
    }

    /// <summary>The memory lines of /proc/PID/status, VmPeak to VmSwap, as Linux prints them.</summary>
    internal static string FormatStatus(AddressSpace mm)
    {
        MemoryStatus s = Status(mm);
        var sb = new StringBuilder(400);
        StatusLine(sb, "VmPeak", s.VmPeak);
        StatusLine(sb, "VmSize", s.VmSize);
        StatusLine(sb, "VmLck", s.VmLck);
        StatusLine(sb, "VmPin", s.VmPin);
        StatusLine(sb, "VmHWM", s.VmHwm);
        StatusLine(sb, "VmRSS", s.VmRss);
        StatusLine(sb, "RssAnon", s.RssAnon);
        StatusLine(sb, "RssFile", s.RssFile);
        StatusLine(sb, "RssShmem", s.RssShmem);
        StatusLine(sb, "VmData", s.VmData);
        StatusLine(sb, "VmStk", s.VmStk);
        StatusLine(sb, "VmExe", s.VmExe);
        StatusLine(sb, "VmLib", s.VmLib);
        StatusLine(sb, "VmPTE", s.VmPte);
        StatusLine(sb, "VmSwap", s.VmSwap);
        return sb.ToString();
    }

    private static void StatusLine(StringBuilder sb, string name, ulong pages)
    {
        string kb = (pages << (PageConstants.PageShift - 10)).ToString(CultureInfo.InvariantCulture);
        sb.Append(name).Append(":\t");
        if (kb.Length < 8)
        {
            sb.Append(' ', 8 - kb.Length);
        }

        sb.Append(kb).Append(" kB\n");
    }
}
