using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>fork() and exit() as memory management sees them: duplicating an address space, tearing one down.
/// Linux: kernel/fork.c dup_mm(), mm/mmap.c dup_mmap(), exit_mmap().</summary>
internal static class ForkOps
{
    /// <summary>
    /// Duplicates this address space for a child process on the same machine. Every VMA is copied but those
    /// marked VM_DONTCOPY (MADV_DONTFORK); VM_WIPEONFORK VMAs are copied empty; the child's VMAs are not locked
    /// (mlock and MCL_FUTURE are not inherited). Page tables are copied only for VMAs that have anonymous pages
    /// (an anon_vma) or are PFN/mixed maps; the rest fault in again from the page cache. Anonymous pages become
    /// shared copy-on-write. Each child VMA with an anon_vma gets a new one chained to the parent's, so it never
    /// shares it with a neighbour (and merges less, see <see cref="VmaOps.IsMergeableAnonVma"/>).
    /// Returns ENOMEM when commit accounting refuses the child's accountable VMAs or a failure point fires.
    /// Linux: kernel/fork.c dup_mm() → mm/mmap.c dup_mmap(), mm/memory.c copy_page_range(), mm/rmap.c anon_vma_fork().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write. The child's mmap lock is held for write (nested under this
    /// one) while its VMAs are copied, and each of this address space's VMAs is write-locked before it is copied,
    /// so vm_ops open of a child's VMA runs under both mmap write locks (Linux: dup_mmap()
    /// mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING), vma_start_write(mpnt)).
    /// Postconditions: on success the child's VMAs are validated; on failure nothing of the child remains.</remarks>
    internal static Errno Fork(AddressSpace mm, out AddressSpace? child)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "dup_mmap");
        child = null;
        var c = new AddressSpace(mm.Config, mm.Manager)
        {
            MmapBase = mm.MmapBase,
            MmapLegacyBase = mm.MmapLegacyBase,
            TopDown = mm.TopDown,
            StartBrk = mm.StartBrk,
            Brk = mm.Brk,
            BrkShown = mm.BrkShown,
            StartStack = mm.StartStack,
            StartCode = mm.StartCode,
            EndCode = mm.EndCode,
            ExecImages = mm.ExecImages is { } images ? [.. images] : null,
            // mm_init(): only VM_NOHUGEPAGE of def_flags survives (VM_INIT_DEF_MASK); MCL_FUTURE does not.
            DefFlags = mm.DefFlags & VmFlags.NoHugePage,
            HookTracer = mm.HookTracer,
            FailPoints = mm.FailPoints,
        };

        foreach (string gate in mm.GateLineList)
        {
            c.AddGateLine(gate);
        }

        using Locking.MmapLock.WriteScope childLock = c.MmapLock.WriteNested();
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            v.StartWrite();
            if ((v.Flags & VmFlags.DontCopy) != 0)
            {
                continue;
            }

            if ((v.Flags & VmFlags.Account) != 0 && c.VmEnoughMemory(v.Pages) != Errno.None)
            {
                ForkOps.Exit(c);
                return Errno.ENOMEM;
            }

            if (mm.Inject("vma_alloc"))
            {
                ForkOps.Exit(c);
                return Errno.ENOMEM;
            }

            var n = new Vma(v.Start, v.End, v.PgOff, v.Flags & ~VmFlags.LockedMask, v.File)
            {
                VmOps = v.VmOps,
                PrivateData = v.PrivateData,
            };
            if ((v.Flags & VmFlags.WipeOnFork) == 0 && v.AnonVma is not null)
            {
                n.AnonVma = new AnonVma();
                n.ForkedAnon = true;
            }

            c.Tree.Insert(n);
            c.StatAccount(n.Flags, (long)n.Pages);
            if ((v.Flags & VmFlags.WipeOnFork) == 0 && (v.AnonVma is not null || (v.Flags & (VmFlags.PfnMap | VmFlags.MixedMap | VmFlags.MaybeGuard)) != 0))
            {
                CopyPageRange(mm, c, v);
            }

            n.VmOps?.Open?.Invoke(n);
        }

        c.CheckInvariants();
        child = c;
        return Errno.None;
    }

    /// <summary>
    /// Copies the present entries of <paramref name="vma"/> into the child: the same frames, now mapped twice.
    /// Shared mappings' entries are cleaned; guard markers are kept. Linux: mm/memory.c copy_pte_range(),
    /// copy_present_pte(), copy_nonpresent_pte().
    /// </summary>
    private static void CopyPageRange(AddressSpace mm, AddressSpace child, Vma vma)
    {
        bool shared = (vma.Flags & VmFlags.Shared) != 0;
        List<(ulong Vpn, Pte Pte)> entries = mm.ForkPageScratch;
        entries.Clear();
        mm.Pages.CollectPresent(vma.Start >> PageConstants.PageShift, vma.End >> PageConstants.PageShift, entries);
        foreach ((ulong vpn, Pte pte) in entries)
        {
            // The child's copy is old (not accessed); a shared mapping's copy is also clean.
            Pte copy = new Pte(pte.Raw).WithYoung(young: false);
            child.Pages.Set(vpn, shared ? copy.WithDirty(dirty: false) : copy);
        }

        entries.Clear();
    }

    /// <summary>
    /// Tears the address space down as the last user of it exits: every VMA is closed and unmapped, its pages
    /// released, its commit charge returned, and it leaves the machine. Linux: kernel/exit.c exit_mm() → mmput()
    /// → mm/mmap.c exit_mmap().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write (exit_mmap() closes and frees the VMAs under
    /// mmap_write_lock()).</remarks>
    internal static void Exit(AddressSpace mm)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "exit_mmap");
        var shmem = new HashSet<Inode>();
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            mm.Pages.Clear(v.Start >> PageConstants.PageShift, v.End >> PageConstants.PageShift, MemoryOps.HasRecency(v));
            v.VmOps?.Close?.Invoke(v);
            if (v.File is { IsShmem: true } f)
            {
                shmem.Add(f.Inode);
            }
        }

        mm.Pages.ClearAll();
        while (mm.Tree.First is { } first)
        {
            mm.Tree.Remove(first);
        }

        mm.TotalVm = mm.LockedVm = mm.DataVm = mm.ExecVm = mm.StackVm = 0;
        mm.CommittedPages = 0;
        mm.Manager.Remove(mm);
        foreach (Inode inode in shmem)
        {
            mm.Manager.PutFile(inode);
        }
    }
}
