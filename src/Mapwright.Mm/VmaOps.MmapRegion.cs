using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>Mapping a new region (mmap_region() and its hooks) and growing the break (do_brk_flags()).
/// Linux: mm/vma.c.</summary>
internal static partial class VmaOps
{
    /// <summary>Linux: mm/vma.c accountable_mapping(): private writable memory is charged to overcommit.</summary>
    private static bool AccountableMapping(VmFlags f) => (f & (VmFlags.NoReserve | VmFlags.Shared | VmFlags.Write)) == VmFlags.Write;

    /// <summary>
    /// Establishes the mapping at a chosen address: tears down what it replaces, checks limits, runs the file's
    /// hooks (docs/hook-lifecycle.md), merges or creates the VMA, and accounts it. Returns addr or the errno.
    /// </summary>
    /// <remarks>
    /// Preconditions: mmap lock held for write; arguments checked by do_mmap.
    /// Point of no return: the teardown of the old mappings of a MAP_FIXED range. A failure before it (a limit,
    /// accounting) leaves them; a failure after it (a hook, an allocation) leaves the range unmapped (rule 7).
    /// Once MmapPrepare has succeeded, exactly one of MmapComplete and MmapAbort runs (rule 3).
    /// Linux: mm/vma.c mmap_region() / __mmap_region() / __mmap_setup() / call_mmap_prepare() /
    /// __mmap_new_vma() / __mmap_complete(); mmap_complete and mmap_abort from the September 2025 series.
    /// </remarks>
    internal static SysResult MmapRegion(AddressSpace mm, MappedFile? file, ulong addr, ulong len, VmFlags vmFlags, ulong pgoff)
    {
        ulong end = addr + len;
        ulong pglen = len >> PageConstants.PageShift;

        // mapping_map_writable(): a write-sealed memfd refuses a shared writable mapping. (Writable mappings
        // are counted when a seal is added: see CountWritableMappings.)
        if (file is not null && (vmFlags & (VmFlags.Shared | VmFlags.MayWrite)) == (VmFlags.Shared | VmFlags.MayWrite)
            && (file.Inode.Seals & FileSeals.Write) != 0)
        {
            return Errno.EPERM;
        }

        return MmapRegionCore(mm, file, addr, end, pglen, vmFlags, pgoff);
    }

    /// <summary>
    /// The steps of mapping a region: set up (gather what the range replaces, check limits, charge, tear down),
    /// call the file's MmapPrepare, merge or create the VMA, complete, or abort on failure.
    /// Linux: mm/vma.c __mmap_region().
    /// </summary>
    private static SysResult MmapRegionCore(AddressSpace mm, MappedFile? file, ulong addr, ulong end, ulong pglen, VmFlags vmFlags, ulong pgoff)
    {
        var map = new MmapState(mm, file, addr, end, pglen, vmFlags, pgoff);
        Errno err = MmapSetup(ref map);
        if (err != Errno.None)
        {
            return err;
        }

        err = CallMmapPrepare(ref map);
        if (err != Errno.None)
        {
            return err;
        }

        if (map.File is null && (map.VmFlags & VmFlags.Shared) != 0)
        {
            // shmem_zero_setup(): a shared anonymous mapping is backed by an unlinked shmem file as large as it.
            map.File = mm.Manager.Shmem.ZeroSetup(end - addr);
            map.SharedAnonOps = true;
        }

        Vma? vma = null;
        bool hasComplete = map.Prepared && map.Fop?.MmapComplete is not null;

        // Rule 4: a new mapping of a file with MmapComplete is never merged when it is created.
        if (!hasComplete && (map.Prev is not null || map.Next is not null))
        {
            var vmg = VmaMergeState.ForNewRange(mm, map.Prev, map.Next, addr, end, map.PgOff, map.VmFlags, map.File, null);
            vma = MergeNewRange(ref vmg);
        }

        if (vma is null)
        {
            err = MmapNewVma(ref map, out vma);
            if (err != Errno.None)
            {
                return err;
            }
        }

        err = MmapComplete(ref map, vma);
        return err != Errno.None ? err : SysResult.Ok(addr);
    }

    /// <summary>
    /// Gathers the VMAs the range replaces, checks the address-space limits, charges overcommit and tears the old
    /// mappings down (the point of no return for MAP_FIXED; Linux completes the munmap later, in
    /// __mmap_complete(), but before any hook that could see it).
    /// Linux: mm/vma.c __mmap_setup(), vms_clean_up_area(), vms_complete_munmap_vmas().
    /// </summary>
    private static Errno MmapSetup(ref MmapState map)
    {
        AddressSpace mm = map.Mm;
        ulong addr = map.Addr;
        ulong end = map.End;
        VmaMunmap? vms = null;
        Vma? overlap = mm.Tree.FindIntersection(addr, end);
        if (overlap is not null)
        {
            vms = new VmaMunmap();
            Errno err = GatherMunmap(mm, overlap, addr, end, vms);
            if (err != Errno.None)
            {
                return err;
            }

            map.Prev = vms.Prev;
            map.Next = vms.Next;
        }
        else
        {
            map.Prev = mm.Tree.FindPrev(addr);
            map.Next = map.Prev is null ? mm.Tree.First : map.Prev.NextVma;
        }

        if (mm.Inject("may_expand_vm") || !mm.MayExpandVm(map.VmFlags, map.PgLen - (vms?.NrPages ?? 0)))
        {
            return Errno.ENOMEM;
        }

        if (AccountableMapping(map.VmFlags))
        {
            map.Charged = map.PgLen - (vms?.NrAccounted ?? 0);
            if (map.Charged != 0)
            {
                Errno err = mm.VmEnoughMemory(map.Charged);
                if (err != Errno.None)
                {
                    return err;
                }
            }

            if (vms is not null)
            {
                vms.NrAccounted = 0;
            }

            map.VmFlags |= VmFlags.Account;
        }

        // Point of no return for MAP_FIXED: the old mappings are torn down here (vms_clean_up_area) and
        // removed (vms_complete_munmap_vmas), before MmapPrepare runs.
        if (vms is not null && vms.Vmas.Count != 0)
        {
            CompleteMunmap(mm, vms);
            map.Prev = mm.Tree.FindPrev(addr);
            map.Next = map.Prev is null ? mm.Tree.First : map.Prev.NextVma;
        }

        return Errno.None;
    }

    /// <summary>
    /// Runs the file's MmapPrepare hook on a <see cref="VmAreaDesc"/> and takes back what it may change (offset,
    /// file, flags). On failure the charge is returned and neither complete nor abort runs (rule 2).
    /// Linux: mm/vma.c call_mmap_prepare().
    /// </summary>
    private static Errno CallMmapPrepare(ref MmapState map)
    {
        AddressSpace mm = map.Mm;
        MappedFile? file = map.File;
        FileOperations? fop = map.Fop;
        if (file is not null && fop?.MmapPrepare is { } prepare)
        {
            var desc = new VmAreaDesc(mm, file, map.Addr, map.End, map.PgOff, map.VmFlags);
            map.Desc = desc;
            Errno err = prepare(desc);
            TraceHook(mm, "mmap_prepare", file, map.Addr, map.End, null, err);
            if (err != Errno.None)
            {
                // Rule 2: the hook cleaned up after itself; neither complete nor abort runs. The charge is
                // returned (the 2025 code forgot to; docs/divergences.md).
                Unaccount(mm, map.Charged);
                return err;
            }

            Diagnostics.Bug.On(desc.Start != map.Addr || desc.End != map.End, $"{fop.Name}: mmap_prepare changed a read-only field");
            map.Prepared = true;
            map.PgOff = desc.PgOff;
            map.File = desc.VmFile;
            map.VmFlags = desc.VmFlags;
        }

        return Errno.None;
    }

    /// <summary>
    /// Creates the VMA when no neighbour took the range: sets its operations from the prepared descriptor or calls
    /// the legacy mmap hook (rule 8 on its failure), and inserts it. A failure after MmapPrepare aborts
    /// (<see cref="MmapAbort"/>).
    /// Linux: mm/vma.c __mmap_new_vma(), __mmap_new_file_vma().
    /// </summary>
    private static Errno MmapNewVma(ref MmapState map, out Vma vma)
    {
        AddressSpace mm = map.Mm;
        ulong addr = map.Addr;
        ulong end = map.End;
        FileOperations? fop = map.Fop;
        vma = null!;
        if (mm.Inject("vma_alloc"))
        {
            return MmapAbort(ref map, Errno.ENOMEM);
        }

        vma = new Vma(addr, end, map.PgOff, map.VmFlags, map.File) { Mm = mm };
        if (map.SharedAnonOps)
        {
            // shmem_anon_vm_ops: shared anonymous memory is not vma_is_anonymous().
            vma.VmOps = mm.Manager.Shmem.AnonVmOps;
        }

        if (map.Prepared)
        {
            if (map.Desc!.VmOpsSet)
            {
                vma.VmOps = map.Desc.GetVmOps();
            }

            vma.PrivateData = map.Desc.GetPrivateData();
        }
        else if (map.File is { } file && fop?.Mmap is { } legacy)
        {
            Errno err = legacy(file, vma);
            TraceHook(mm, "mmap", file, addr, end, vma, err);
            if (err != Errno.None)
            {
                // Rule 8: the VMA is discarded and anything the driver mapped is undone.
                mm.Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
                Unaccount(mm, map.Charged);
                return err;
            }

            Diagnostics.Bug.On(vma.Start != addr || vma.End != end, $"{fop.Name}: mmap changed the VMA's address");
            map.VmFlags = vma.Flags;
            map.File = vma.File;
        }

        if (mm.Inject("vma_prealloc"))
        {
            mm.Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
            return MmapAbort(ref map, Errno.ENOMEM);
        }

        mm.Tree.Insert(vma);
        return Errno.None;
    }

    /// <summary>
    /// Accounts the new mapping and runs MmapComplete (rules 5 and 6) or the prepared action; a failure of either
    /// unmaps the range.
    /// Linux: mm/vma.c __mmap_complete(); mmap_complete from the September 2025 series.
    /// </summary>
    private static Errno MmapComplete(ref MmapState map, Vma vma)
    {
        AddressSpace mm = map.Mm;
        ulong addr = map.Addr;
        ulong end = map.End;
        VmFlags vmFlags = map.VmFlags;
        ulong pglen = map.PgLen;
        FileOperations? fop = map.Fop;
        mm.StatAccount(vmFlags, (long)pglen);
        if ((vmFlags & VmFlags.Locked) != 0)
        {
            if ((vmFlags & (VmFlags.Special | VmFlags.Droppable | VmFlags.HugeTlb)) != 0)
            {
                vma.Flags &= ~VmFlags.LockedMask;
            }
            else
            {
                mm.LockedVm += pglen;
            }
        }

        if (map.Prepared && fop!.MmapComplete is { } complete)
        {
            vma.Mm = mm;
            vma.StartWrite();
            Errno err = complete(map.File!, vma, map.Desc!.GetContext());
            TraceHook(mm, "mmap_complete", map.File!, addr, end, vma, err);

            // Rule 5: the hook must leave both locks held.
            Locking.LockAssert.MmapWriteLocked(mm.MmapLock, $"{fop.Name}: mmap_complete released the mmap lock");
            Diagnostics.Bug.On(!vma.IsWriteLocked, $"{fop.Name}: mmap_complete released the VMA lock");
            if (err != Errno.None)
            {
                // Rule 6: the VMA is unmapped and mmap() fails; MmapAbort is not called.
                _ = DoAlignedMunmap(mm, addr, end);
                return err;
            }
        }
        else if (map.Prepared && map.Desc!.Action.Type != MmapActionType.Nothing)
        {
            Errno err = PerformMmapAction(mm, map.Desc.Action, vma, addr, end);
            if (err != Errno.None)
            {
                return err;
            }
        }

        return Errno.None;
    }

    /// <summary>A failure after the teardown and after MmapPrepare: the charge is returned, the range stays
    /// unmapped, and MmapAbort runs when provided (rule 3). Returns <paramref name="err"/>.
    /// Linux: mm/vma.c __mmap_region()'s unacct_error and abort_munmap paths; mmap_abort from the September 2025
    /// series.</summary>
    private static Errno MmapAbort(ref MmapState map, Errno err)
    {
        AddressSpace mm = map.Mm;
        Unaccount(mm, map.Charged);
        if (map.Prepared && map.Fop?.MmapAbort is { } abort)
        {
            VmAreaDesc desc = map.Desc!;
            abort(desc.File, desc.GetPrivateData(), desc.GetContext());
            TraceHook(mm, "mmap_abort", desc.File, desc.Start, desc.End, null, Errno.None);
        }

        return err;
    }

    private static void Unaccount(AddressSpace mm, ulong charged)
    {
        if (charged != 0)
        {
            mm.VmUnacctMemory(charged);
        }
    }

    /// <summary>
    /// The successor form: remap a PFN range (or nothing), then the success hook. A failed action unmaps the new
    /// VMA [addr, end) and then hands its error to the error hook, which may replace it (a driver that reports
    /// -EAGAIN for -ENOMEM); a failing success hook unmaps the VMA too and its error is mmap()'s.
    /// Linux (v6.19): mm/util.c mmap_action_complete(), with the unmap of mm/vma.c call_action_complete().
    /// </summary>
    /// <remarks>
    /// Preconditions: the mmap lock held for write; <paramref name="vma"/> is the new VMA, in the tree.
    /// Postconditions: on an error, [addr, end) is unmapped.
    /// An error hook that returns no error breaks its contract: Linux warns (VM_WARN_ON_ONCE(!err)) and returns 0
    /// with the VMA gone, so mmap() would report success for an unmapped range; the model raises it as the bug it is
    /// (docs/divergences.md).
    /// </remarks>
    private static Errno PerformMmapAction(AddressSpace mm, MmapAction action, Vma vma, ulong addr, ulong end)
    {
        Errno err = Errno.None;
        if (action.Type is MmapActionType.RemapPfn or MmapActionType.IoRemapPfn)
        {
            // remap_pfn_range_complete() fails only when it cannot allocate a page table.
            if (mm.Inject("remap_pfn_range"))
            {
                err = Errno.ENOMEM;
            }
            else
            {
                vma.Flags |= VmFlags.Io | VmFlags.PfnMap | VmFlags.DontExpand | VmFlags.DontDump;
                MemoryOps.InsertPagesForDriver(mm, vma, action.RemapStart, action.RemapStart + action.RemapSize);
            }
        }

        if (err != Errno.None)
        {
            _ = DoAlignedMunmap(mm, addr, end);
            if (action.ErrorHook is { } errorHook)
            {
                Errno changed = errorHook(err);
                Diagnostics.Bug.On(changed == Errno.None, $"mmap_action error hook cleared the error {err}");
                err = changed;
            }

            return err;
        }

        if (action.SuccessHook is { } success)
        {
            err = success(vma);
            if (err != Errno.None)
            {
                _ = DoAlignedMunmap(mm, addr, end);
            }
        }

        return err;
    }

    /// <summary>Emits <c># hook NAME file=PATH start=0x... end=0x... locks=... -&gt; RESULT</c>.</summary>
    internal static void TraceHook(AddressSpace mm, string name, MappedFile file, ulong start, ulong end, Vma? vma, Errno result)
    {
        if (mm.HookTracer is not { } tracer)
        {
            return;
        }

        string locks = mm.MmapLock.IsWriteLocked ? "mmap:write" : mm.MmapLock.IsReadLocked ? "mmap:read" : "none";
        if (vma is not null && vma.IsWriteLocked)
        {
            locks += ",vma:write";
        }

        string res = result == Errno.None ? "0" : result.ToString();
        tracer($"# hook {name} file={file.Path} start=0x{start:x} end=0x{end:x} locks={locks} -> {res}");
    }

    /// <summary>Linux: mm/vma.c do_brk_flags(); <paramref name="extraFlags"/> is vm_brk_flags()' VM_EXEC.</summary>
    internal static Errno DoBrkFlags(AddressSpace mm, Vma? vma, ulong addr, ulong len, VmFlags extraFlags = VmFlags.None)
    {
        VmFlags flags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec
            | VmFlags.Account | mm.DefFlags | extraFlags;
        ulong pages = len >> PageConstants.PageShift;
        if (!mm.MayExpandVm(flags, pages))
        {
            return Errno.ENOMEM;
        }

        if (mm.MapCount > mm.Config.MaxMapCount)
        {
            return Errno.ENOMEM;
        }

        if (mm.VmEnoughMemory(pages) != Errno.None)
        {
            return Errno.ENOMEM;
        }

        Vma? merged = null;
        if (vma is not null && vma.End == addr)
        {
            var vmg = VmaMergeState.ForNewRange(mm, vma, null, addr, addr + len, addr >> PageConstants.PageShift, flags, null, null);
            vmg.JustExpand = true;
            merged = MergeNewRange(ref vmg);
            if (merged is null && vmg.State == VmaMergeResult.ErrorNoMem)
            {
                mm.VmUnacctMemory(pages);
                return Errno.ENOMEM;
            }
        }

        if (merged is null)
        {
            mm.Tree.Insert(new Vma(addr, addr + len, addr >> PageConstants.PageShift, flags, null));
        }

        mm.TotalVm += pages;
        mm.DataVm += pages;
        if ((flags & VmFlags.Locked) != 0)
        {
            mm.LockedVm += pages;
        }

        return Errno.None;
    }
}
