using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>fork() and exit() as memory management sees them: duplicating an address space, tearing one down.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// Duplicates this address space for a child process on the same machine. Every VMA is copied but those
    /// marked VM_DONTCOPY (MADV_DONTFORK); VM_WIPEONFORK VMAs are copied empty; the child's VMAs are not locked
    /// (mlock and MCL_FUTURE are not inherited). Page tables are copied only for VMAs that have anonymous pages
    /// (an anon_vma) or are PFN/mixed maps; the rest fault in again from the page cache. Anonymous pages become
    /// shared copy-on-write. Each child VMA with an anon_vma gets a new one chained to the parent's, so it never
    /// shares it with a neighbour (and merges less, see <see cref="IsMergeableAnonVma"/>).
    /// Returns ENOMEM when commit accounting refuses the child's accountable VMAs or a failure point fires.
    /// Linux: kernel/fork.c dup_mm() → mm/mmap.c dup_mmap(), mm/memory.c copy_page_range(), mm/rmap.c anon_vma_fork().
    /// </summary>
    /// <remarks>Postconditions: on success the child's VMAs are validated; on failure nothing of the child remains.</remarks>
    public Errno Fork(out AddressSpace? child)
    {
        child = null;
        var c = new AddressSpace(Config, Manager)
        {
            MmapBase = MmapBase,
            MmapLegacyBase = MmapLegacyBase,
            TopDown = TopDown,
            StartBrk = StartBrk,
            Brk = Brk,
            BrkShown = BrkShown,
            StartStack = StartStack,
            StartCode = StartCode,
            EndCode = EndCode,
            // mm_init(): only VM_NOHUGEPAGE of def_flags survives (VM_INIT_DEF_MASK); MCL_FUTURE does not.
            DefFlags = DefFlags & VmFlags.NoHugePage,
            HookTracer = HookTracer,
            FailPoints = FailPoints,
        };

        foreach (string gate in _gateLines)
        {
            c.AddGateLine(gate);
        }

        for (Vma? v = Tree.First; v is not null; v = v.NextVma)
        {
            if ((v.Flags & VmFlags.DontCopy) != 0)
            {
                continue;
            }

            if ((v.Flags & VmFlags.Account) != 0 && c.VmEnoughMemory(v.Pages) != Errno.None)
            {
                c.Exit();
                return Errno.ENOMEM;
            }

            if (Inject("vma_alloc"))
            {
                c.Exit();
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
                CopyPageRange(c, v);
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
    private void CopyPageRange(AddressSpace child, Vma vma)
    {
        bool shared = (vma.Flags & VmFlags.Shared) != 0;
        List<(ulong Vpn, Pte Pte)> entries = _pageScratch;
        entries.Clear();
        Pages.CollectPresent(vma.Start >> PageConstants.PageShift, vma.End >> PageConstants.PageShift, entries);
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
    public void Exit()
    {
        var shmem = new HashSet<Inode>();
        for (Vma? v = Tree.First; v is not null; v = v.NextVma)
        {
            Pages.Clear(v.Start >> PageConstants.PageShift, v.End >> PageConstants.PageShift, HasRecency(v));
            v.VmOps?.Close?.Invoke(v);
            if (v.File is { IsShmem: true } f)
            {
                shmem.Add(f.Inode);
            }
        }

        Pages.ClearAll();
        while (Tree.First is { } first)
        {
            Tree.Remove(first);
        }

        TotalVm = LockedVm = DataVm = ExecVm = StackVm = 0;
        CommittedPages = 0;
        Manager.Remove(this);
        foreach (Inode inode in shmem)
        {
            Manager.PutFile(inode);
        }
    }
}
