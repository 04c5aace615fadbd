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
    /// hooks (docs/hook-lifecycle.md), merges or creates the VMA, and accounts it. Returns addr or a negative errno.
    /// </summary>
    /// <remarks>
    /// Preconditions: mmap lock held for write; arguments checked by do_mmap.
    /// Point of no return: the teardown of the old mappings of a MAP_FIXED range. A failure before it (a limit,
    /// accounting) leaves them; a failure after it (a hook, an allocation) leaves the range unmapped (rule 7).
    /// Once MmapPrepare has succeeded, exactly one of MmapComplete and MmapAbort runs (rule 3).
    /// Linux: mm/vma.c mmap_region() / __mmap_region() / __mmap_setup() / call_mmap_prepare() /
    /// __mmap_new_vma() / __mmap_complete(); mmap_complete and mmap_abort from the September 2025 series.
    /// </remarks>
    internal static long MmapRegion(AddressSpace mm, MappedFile? file, ulong addr, ulong len, VmFlags vmFlags, ulong pgoff)
    {
        ulong end = addr + len;
        ulong pglen = len >> PageConstants.PageShift;

        // mapping_map_writable(): a write-sealed memfd refuses a shared writable mapping. (Writable mappings
        // are counted when a seal is added: see CountWritableMappings.)
        if (file is not null && (vmFlags & (VmFlags.Shared | VmFlags.MayWrite)) == (VmFlags.Shared | VmFlags.MayWrite)
            && (file.Inode.Seals & FileSeals.Write) != 0)
        {
            return -(long)Errno.EPERM;
        }

        return MmapRegionCore(mm, file, addr, end, pglen, vmFlags, pgoff, out _);
    }

    private static long MmapRegionCore(AddressSpace mm, MappedFile? file, ulong addr, ulong end, ulong pglen, VmFlags vmFlags, ulong pgoff, out MappedFile? mappedFile)
    {
        mappedFile = file;
        VmaMunmap? vms = null;
        Vma? prev;
        Vma? next;
        Vma? overlap = mm.Tree.FindIntersection(addr, end);
        if (overlap is not null)
        {
            vms = new VmaMunmap();
            Errno err = GatherMunmap(mm, overlap, addr, end, vms);
            if (err != Errno.None)
            {
                return -(long)err;
            }

            prev = vms.Prev;
            next = vms.Next;
        }
        else
        {
            prev = mm.Tree.FindPrev(addr);
            next = prev is null ? mm.Tree.First : prev.NextVma;
        }

        if (mm.Inject("may_expand_vm") || !mm.MayExpandVm(vmFlags, pglen - (vms?.NrPages ?? 0)))
        {
            return -(long)Errno.ENOMEM;
        }

        ulong charged = 0;
        if (AccountableMapping(vmFlags))
        {
            charged = pglen - (vms?.NrAccounted ?? 0);
            if (charged != 0)
            {
                Errno err = mm.VmEnoughMemory(charged);
                if (err != Errno.None)
                {
                    return -(long)err;
                }
            }

            if (vms is not null)
            {
                vms.NrAccounted = 0;
            }

            vmFlags |= VmFlags.Account;
        }

        // Point of no return for MAP_FIXED: the old mappings are torn down here (vms_clean_up_area) and
        // removed (vms_complete_munmap_vmas), before MmapPrepare runs.
        if (vms is not null && vms.Vmas.Count != 0)
        {
            CompleteMunmap(mm, vms);
            prev = mm.Tree.FindPrev(addr);
            next = prev is null ? mm.Tree.First : prev.NextVma;
        }

        FileOperations? fop = file?.Operations;
        bool prepared = false;
        VmAreaDesc? desc = null;
        if (file is not null && fop?.MmapPrepare is { } prepare)
        {
            desc = new VmAreaDesc(mm, file, addr, end, pgoff, vmFlags);
            Errno err = prepare(desc);
            TraceHook(mm, "mmap_prepare", file, addr, end, null, err);
            if (err != Errno.None)
            {
                // Rule 2: the hook cleaned up after itself; neither complete nor abort runs. The charge is
                // returned (the 2025 code forgot to; docs/divergences.md).
                Unaccount(mm, charged);
                return -(long)err;
            }

            Diagnostics.Bug.On(desc.Start != addr || desc.End != end, $"{fop.Name}: mmap_prepare changed a read-only field");
            prepared = true;
            pgoff = desc.PgOff;
            file = desc.VmFile;
            mappedFile = file;
            vmFlags = desc.VmFlags;
        }

        bool sharedAnonOps = false;
        if (file is null && (vmFlags & VmFlags.Shared) != 0)
        {
            // shmem_zero_setup(): a shared anonymous mapping is backed by an unlinked shmem file as large as it.
            file = mm.Manager.Shmem.ZeroSetup(end - addr);
            mappedFile = file;
            sharedAnonOps = true;
        }

        Vma? vma = null;
        bool hasComplete = prepared && fop?.MmapComplete is not null;

        // Rule 4: a new mapping of a file with MmapComplete is never merged when it is created.
        if (!hasComplete && (prev is not null || next is not null))
        {
            var vmg = VmaMergeState.ForNewRange(mm, prev, next, addr, end, pgoff, vmFlags, file, null);
            vma = MergeNewRange(ref vmg);
        }

        if (vma is null)
        {
            if (mm.Inject("vma_alloc"))
            {
                return FailAfterTeardown(mm, Errno.ENOMEM, charged, prepared, fop, file, desc);
            }

            vma = new Vma(addr, end, pgoff, vmFlags, file) { Mm = mm };
            if (sharedAnonOps)
            {
                // shmem_anon_vm_ops: shared anonymous memory is not vma_is_anonymous().
                vma.VmOps = mm.Manager.Shmem.AnonVmOps;
            }

            if (prepared)
            {
                if (desc!.VmOpsSet)
                {
                    vma.VmOps = desc.GetVmOps();
                }

                vma.PrivateData = desc.GetPrivateData();
            }
            else if (file is not null && fop?.Mmap is { } legacy)
            {
                Errno err = legacy(file, vma);
                TraceHook(mm, "mmap", file, addr, end, vma, err);
                if (err != Errno.None)
                {
                    // Rule 8: the VMA is discarded and anything the driver mapped is undone.
                    mm.Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
                    Unaccount(mm, charged);
                    return -(long)err;
                }

                Diagnostics.Bug.On(vma.Start != addr || vma.End != end, $"{fop.Name}: mmap changed the VMA's address");
                vmFlags = vma.Flags;
                file = vma.File;
                mappedFile = file;
            }

            if (mm.Inject("vma_prealloc"))
            {
                mm.Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
                return FailAfterTeardown(mm, Errno.ENOMEM, charged, prepared, fop, file, desc);
            }

            mm.Tree.Insert(vma);
        }

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

        if (prepared && fop!.MmapComplete is { } complete)
        {
            vma.Mm = mm;
            vma.StartWrite();
            Errno err = complete(file!, vma, desc!.GetContext());
            TraceHook(mm, "mmap_complete", file!, addr, end, vma, err);

            // Rule 5: the hook must leave both locks held.
            Locking.LockAssert.MmapWriteLocked(mm.MmapLock, $"{fop.Name}: mmap_complete released the mmap lock");
            Diagnostics.Bug.On(!vma.IsWriteLocked, $"{fop.Name}: mmap_complete released the VMA lock");
            if (err != Errno.None)
            {
                // Rule 6: the VMA is unmapped and mmap() fails; MmapAbort is not called.
                _ = DoAlignedMunmap(mm, addr, end);
                return -(long)err;
            }
        }
        else if (prepared && desc!.Action.Type != MmapActionType.Nothing)
        {
            Errno err = PerformMmapAction(mm, desc.Action, vma);
            if (err != Errno.None)
            {
                _ = DoAlignedMunmap(mm, addr, end);
                return -(long)err;
            }
        }

        return (long)addr;
    }

    /// <summary>A failure after the teardown and after MmapPrepare: the charge is returned, the range stays
    /// unmapped, and MmapAbort runs when provided (rule 3).</summary>
    private static long FailAfterTeardown(AddressSpace mm, Errno err, ulong charged, bool prepared, FileOperations? fop, MappedFile? file, VmAreaDesc? desc)
    {
        Unaccount(mm, charged);
        if (prepared && fop?.MmapAbort is { } abort)
        {
            abort(desc!.File, desc.GetPrivateData(), desc.GetContext());
            TraceHook(mm, "mmap_abort", desc.File, desc.Start, desc.End, null, Errno.None);
        }

        _ = file;
        return -(long)err;
    }

    private static void Unaccount(AddressSpace mm, ulong charged)
    {
        if (charged != 0)
        {
            mm.VmUnacctMemory(charged);
        }
    }

    /// <summary>The successor form: remap a PFN range (or nothing), then the success hook; on failure the error
    /// hook may change the error. Linux (v6.19): mm/util.c mmap_action_complete().</summary>
    private static Errno PerformMmapAction(AddressSpace mm, MmapAction action, Vma vma)
    {
        Errno err = Errno.None;
        if (action.Type is MmapActionType.RemapPfn or MmapActionType.IoRemapPfn)
        {
            vma.Flags |= VmFlags.Io | VmFlags.PfnMap | VmFlags.DontExpand | VmFlags.DontDump;
            MemoryOps.InsertPagesForDriver(mm, vma, action.RemapStart, action.RemapStart + action.RemapSize);
        }

        if (err == Errno.None && action.SuccessHook is { } success)
        {
            err = success(vma);
        }
        else if (err != Errno.None && action.ErrorHook is { } errorHook)
        {
            Errno changed = errorHook(err);
            Diagnostics.Bug.On(changed == Errno.None, "mmap_action error hook cleared the error");
            err = changed;
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
