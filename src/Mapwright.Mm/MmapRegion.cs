using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>Creating mappings: do_mmap and mmap_region.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// Maps [addr, addr + len) (or a place chosen for it) for an anonymous mapping. Returns the address or a
    /// negative errno; <paramref name="populate"/> is the length to prefault afterwards.
    /// Linux: mm/mmap.c do_mmap() (anonymous branch).
    /// </summary>
    internal long DoMmapAnonymous(ulong addr, ulong len, Prot prot, MapFlags flags, out ulong populate) =>
        DoMmap(null, addr, len, prot, flags, 0, hugePageSize: 0, out populate);

    /// <summary>Linux: include/linux/mman.h LEGACY_MAP_MASK, the flags MAP_SHARED silently accepts.</summary>
    private const MapFlags LegacyMapMask = MapFlags.Shared | MapFlags.Private | MapFlags.Fixed | MapFlags.Anonymous
        | MapFlags.DenyWrite | MapFlags.Executable | MapFlags.Uninitialized | MapFlags.GrowsDown | MapFlags.Locked
        | MapFlags.NoReserve | MapFlags.Populate | MapFlags.NonBlock | MapFlags.Stack | MapFlags.HugeTlb;

    /// <summary>
    /// As above; a non-zero <paramref name="hugePageSize"/> is an anonymous MAP_HUGETLB mapping, whose pool
    /// reservation fails with ENOMEM after every argument check when the pool is too small.
    /// Linux: mm/mmap.c ksys_mmap_pgoff() (hugetlb_file_setup) and fs/hugetlbfs hugetlb_reserve_pages().
    /// </summary>
    internal long DoMmap(MappedFile? file, ulong addr, ulong len, Prot prot, MapFlags flags, ulong pgoffArg, ulong hugePageSize, out ulong populate)
    {
        populate = 0;
        if (len == 0)
        {
            return -(long)Errno.EINVAL;
        }

        if ((flags & MapFlags.FixedNoReplace) != 0)
        {
            flags |= MapFlags.Fixed;
        }

        if ((flags & MapFlags.Fixed) == 0)
        {
            addr = RoundHintToMin(addr);
        }

        len = PageConstants.PageAlign(len);
        if (len == 0)
        {
            return -(long)Errno.ENOMEM;
        }

        // pgoff is ignored for anonymous mappings until it is set from the address below, but the overflow
        // check runs on the caller's value first.
        if (MapCount > Config.MaxMapCount)
        {
            return -(long)Errno.ENOMEM;
        }

        VmFlags vmFlags = CalcVmProtBits(prot) | CalcVmFlagBits(flags) | DefFlags
            | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;

        long area = GetUnmappedArea(hasFile: file is not null, fileIsShmem: file?.IsShmem == true, fileThpAligned: file?.Inode.ThpAlignedMappings == true, addr, len, pgoffArg, flags, vmFlags);
        if (area < 0)
        {
            return area;
        }

        addr = (ulong)area;
        if ((flags & MapFlags.FixedNoReplace) != 0 && Tree.FindIntersection(addr, addr + len) is not null)
        {
            return -(long)Errno.EEXIST;
        }

        if ((flags & MapFlags.Locked) != 0 && !CanDoMlock())
        {
            return -(long)Errno.EPERM;
        }

        if (!MlockFutureOk(vmFlags, len))
        {
            return -(long)Errno.EAGAIN;
        }

        ulong pgoff;
        if (file is not null)
        {
            // file_mmap_ok(): the offset plus the length must fit (ULONG_MAX for devices, LLONG_MAX for files).
            ulong maxSize = file.Inode.IsDevice ? ulong.MaxValue : long.MaxValue;
            if (len > maxSize || pgoffArg > (maxSize - len) >> PageConstants.PageShift)
            {
                return -(long)Errno.EOVERFLOW;
            }

            long fileCheck = CheckFileMapping(file, prot, ref flags, ref vmFlags);
            if (fileCheck < 0)
            {
                return fileCheck;
            }

            pgoff = pgoffArg;
        }
        else
        {
            switch (flags & MapFlags.TypeMask)
            {
                case MapFlags.Shared:
                    if ((vmFlags & VmFlags.GrowsDown) != 0)
                    {
                        return -(long)Errno.EINVAL;
                    }

                    pgoff = 0;
                    vmFlags |= VmFlags.Shared | VmFlags.MayShare;
                    break;
                case MapFlags.Droppable:
                    if ((flags & (MapFlags.Locked | MapFlags.HugeTlb)) != 0 || (vmFlags & VmFlags.GrowsDown) != 0)
                    {
                        return -(long)Errno.EINVAL;
                    }

                    vmFlags |= VmFlags.Droppable | VmFlags.NoReserve | VmFlags.WipeOnFork | VmFlags.DontDump;
                    pgoff = addr >> PageConstants.PageShift;
                    break;
                case MapFlags.Private:
                    pgoff = addr >> PageConstants.PageShift;
                    break;
                default:
                    return -(long)Errno.EINVAL;
            }
        }

        if ((flags & MapFlags.NoReserve) != 0 && Config.OvercommitMode != 2)
        {
            vmFlags |= VmFlags.NoReserve;
        }

        if (hugePageSize != 0 && (flags & MapFlags.NoReserve) == 0 && Config.HugePages * (2UL << 20) < len)
        {
            return -(long)Errno.ENOMEM;
        }

        long ret = MmapRegion(file, addr, len, vmFlags, pgoff);
        if (ret >= 0 && ((vmFlags & VmFlags.Locked) != 0 || (flags & (MapFlags.Populate | MapFlags.NonBlock)) == MapFlags.Populate))
        {
            populate = len;
        }

        return ret;
    }

    /// <summary>
    /// The file branch of do_mmap's checks, in Linux's order: MAP_SHARED drops non-legacy flags,
    /// MAP_SHARED_VALIDATE refuses them (EOPNOTSUPP); PROT_WRITE on a shared mapping needs a writable file
    /// (EACCES); a file not open for writing loses VM_MAYWRITE; reading needs FMODE_READ (EACCES); a noexec
    /// mount refuses PROT_EXEC (EPERM); the hooks must form a valid set (ENODEV, EINVAL); no grows-down.
    /// Linux: mm/mmap.c do_mmap(), can_mmap_file(); docs/hook-lifecycle.md rule 1.
    /// </summary>
    private static long CheckFileMapping(MappedFile file, Prot prot, ref MapFlags flags, ref VmFlags vmFlags)
    {
        switch (flags & MapFlags.TypeMask)
        {
            case MapFlags.Shared:
            case MapFlags.SharedValidate:
                if ((flags & MapFlags.TypeMask) == MapFlags.Shared)
                {
                    flags &= LegacyMapMask;
                }

                if ((flags & ~LegacyMapMask) != 0)
                {
                    return -(long)Errno.EOPNOTSUPP;
                }

                if ((prot & Prot.Write) != 0 && !file.CanWrite)
                {
                    return -(long)Errno.EACCES;
                }

                vmFlags |= VmFlags.Shared | VmFlags.MayShare;
                if (!file.CanWrite)
                {
                    vmFlags &= ~(VmFlags.MayWrite | VmFlags.Shared);
                }
                else if ((file.Inode.Seals & (FileSeals.Write | FileSeals.FutureWrite)) != 0 && (vmFlags & VmFlags.Write) == 0)
                {
                    // is_readonly_sealed(): a read-only shared mapping of a write-sealed memfd can never
                    // become writable.
                    vmFlags &= ~VmFlags.MayWrite;
                }

                goto case MapFlags.Private;
            case MapFlags.Private:
                if (!file.CanRead)
                {
                    return -(long)Errno.EACCES;
                }

                if (file.Inode.NoExec)
                {
                    if ((vmFlags & VmFlags.Exec) != 0)
                    {
                        return -(long)Errno.EPERM;
                    }

                    vmFlags &= ~VmFlags.MayExec;
                }

                Errno hooks = HookContract.ValidateHooks(file.Operations);
                if (hooks != Errno.None)
                {
                    return -(long)hooks;
                }

                if ((vmFlags & VmFlags.GrowsDown) != 0)
                {
                    return -(long)Errno.EINVAL;
                }

                return 0;
            default:
                return -(long)Errno.EINVAL;
        }
    }

    /// <summary>Linux: mm/mmap.c round_hint_to_min().</summary>
    private ulong RoundHintToMin(ulong hint)
    {
        hint &= PageConstants.PageMask;
        if (hint != 0 && hint < Config.EffectiveMmapMinAddr)
        {
            return PageConstants.PageAlign(Config.EffectiveMmapMinAddr);
        }

        return hint;
    }

    /// <summary>Linux: include/linux/mman.h calc_vm_prot_bits() (x86-64, no protection keys).</summary>
    internal static VmFlags CalcVmProtBits(Prot prot)
    {
        VmFlags f = VmFlags.None;
        if ((prot & Prot.Read) != 0)
        {
            f |= VmFlags.Read;
        }

        if ((prot & Prot.Write) != 0)
        {
            f |= VmFlags.Write;
        }

        if ((prot & Prot.Exec) != 0)
        {
            f |= VmFlags.Exec;
        }

        return f;
    }

    /// <summary>Linux: include/linux/mman.h calc_vm_flag_bits(): MAP_STACK gives VM_NOHUGEPAGE since 6.7.</summary>
    private static VmFlags CalcVmFlagBits(MapFlags flags)
    {
        VmFlags f = VmFlags.None;
        if ((flags & MapFlags.GrowsDown) != 0)
        {
            f |= VmFlags.GrowsDown;
        }

        if ((flags & MapFlags.Locked) != 0)
        {
            f |= VmFlags.Locked;
        }

        if ((flags & MapFlags.Sync) != 0)
        {
            f |= VmFlags.Sync;
        }

        if ((flags & MapFlags.Stack) != 0)
        {
            f |= VmFlags.NoHugePage;
        }

        return f;
    }

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
    internal long MmapRegion(MappedFile? file, ulong addr, ulong len, VmFlags vmFlags, ulong pgoff)
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

        return MmapRegionCore(file, addr, end, pglen, vmFlags, pgoff, out _);
    }

    private long MmapRegionCore(MappedFile? file, ulong addr, ulong end, ulong pglen, VmFlags vmFlags, ulong pgoff, out MappedFile? mappedFile)
    {
        mappedFile = file;
        VmaMunmap? vms = null;
        Vma? prev;
        Vma? next;
        Vma? overlap = Tree.FindIntersection(addr, end);
        if (overlap is not null)
        {
            vms = new VmaMunmap();
            Errno err = GatherMunmap(overlap, addr, end, vms);
            if (err != Errno.None)
            {
                return -(long)err;
            }

            prev = vms.Prev;
            next = vms.Next;
        }
        else
        {
            prev = Tree.FindPrev(addr);
            next = prev is null ? Tree.First : prev.NextVma;
        }

        if (Inject("may_expand_vm") || !MayExpandVm(vmFlags, pglen - (vms?.NrPages ?? 0)))
        {
            return -(long)Errno.ENOMEM;
        }

        ulong charged = 0;
        if (AccountableMapping(vmFlags))
        {
            charged = pglen - (vms?.NrAccounted ?? 0);
            if (charged != 0)
            {
                Errno err = VmEnoughMemory(charged);
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
            CompleteMunmap(vms);
            prev = Tree.FindPrev(addr);
            next = prev is null ? Tree.First : prev.NextVma;
        }

        FileOperations? fop = file?.Operations;
        bool prepared = false;
        VmAreaDesc? desc = null;
        if (file is not null && fop?.MmapPrepare is { } prepare)
        {
            desc = new VmAreaDesc(this, file, addr, end, pgoff, vmFlags);
            Errno err = prepare(desc);
            TraceHook("mmap_prepare", file, addr, end, null, err);
            if (err != Errno.None)
            {
                // Rule 2: the hook cleaned up after itself; neither complete nor abort runs. The charge is
                // returned (the 2025 code forgot to; docs/divergences.md).
                Unaccount(charged);
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
            file = Manager.Shmem.ZeroSetup(end - addr);
            mappedFile = file;
            sharedAnonOps = true;
        }

        Vma? vma = null;
        bool hasComplete = prepared && fop?.MmapComplete is not null;

        // Rule 4: a new mapping of a file with MmapComplete is never merged when it is created.
        if (!hasComplete && (prev is not null || next is not null))
        {
            vma = MergeNewRange(prev, next, addr, end, pgoff, vmFlags, file, null, justExpand: false, out _);
        }

        if (vma is null)
        {
            if (Inject("vma_alloc"))
            {
                return FailAfterTeardown(Errno.ENOMEM, charged, prepared, fop, file, desc);
            }

            vma = new Vma(addr, end, pgoff, vmFlags, file) { Mm = this };
            if (sharedAnonOps)
            {
                // shmem_anon_vm_ops: shared anonymous memory is not vma_is_anonymous().
                vma.VmOps = Manager.Shmem.AnonVmOps;
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
                TraceHook("mmap", file, addr, end, vma, err);
                if (err != Errno.None)
                {
                    // Rule 8: the VMA is discarded and anything the driver mapped is undone.
                    Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
                    Unaccount(charged);
                    return -(long)err;
                }

                Diagnostics.Bug.On(vma.Start != addr || vma.End != end, $"{fop.Name}: mmap changed the VMA's address");
                vmFlags = vma.Flags;
                file = vma.File;
                mappedFile = file;
            }

            if (Inject("vma_prealloc"))
            {
                Pages.Clear(addr >> PageConstants.PageShift, end >> PageConstants.PageShift);
                return FailAfterTeardown(Errno.ENOMEM, charged, prepared, fop, file, desc);
            }

            Tree.Insert(vma);
        }

        StatAccount(vmFlags, (long)pglen);
        if ((vmFlags & VmFlags.Locked) != 0)
        {
            if ((vmFlags & (VmFlags.Special | VmFlags.Droppable | VmFlags.HugeTlb)) != 0)
            {
                vma.Flags &= ~VmFlags.LockedMask;
            }
            else
            {
                LockedVm += pglen;
            }
        }

        if (prepared && fop!.MmapComplete is { } complete)
        {
            vma.Mm = this;
            vma.StartWrite();
            Errno err = complete(file!, vma, desc!.GetContext());
            TraceHook("mmap_complete", file!, addr, end, vma, err);

            // Rule 5: the hook must leave both locks held.
            Locking.LockAssert.MmapWriteLocked(MmapLock, $"{fop.Name}: mmap_complete released the mmap lock");
            Diagnostics.Bug.On(!vma.IsWriteLocked, $"{fop.Name}: mmap_complete released the VMA lock");
            if (err != Errno.None)
            {
                // Rule 6: the VMA is unmapped and mmap() fails; MmapAbort is not called.
                _ = DoAlignedMunmap(addr, end);
                return -(long)err;
            }
        }
        else if (prepared && desc!.Action.Type != MmapActionType.Nothing)
        {
            Errno err = PerformMmapAction(desc.Action, vma);
            if (err != Errno.None)
            {
                _ = DoAlignedMunmap(addr, end);
                return -(long)err;
            }
        }

        return (long)addr;
    }

    /// <summary>A failure after the teardown and after MmapPrepare: the charge is returned, the range stays
    /// unmapped, and MmapAbort runs when provided (rule 3).</summary>
    private long FailAfterTeardown(Errno err, ulong charged, bool prepared, FileOperations? fop, MappedFile? file, VmAreaDesc? desc)
    {
        Unaccount(charged);
        if (prepared && fop?.MmapAbort is { } abort)
        {
            abort(desc!.File, desc.GetPrivateData(), desc.GetContext());
            TraceHook("mmap_abort", desc.File, desc.Start, desc.End, null, Errno.None);
        }

        _ = file;
        return -(long)err;
    }

    private void Unaccount(ulong charged)
    {
        if (charged != 0)
        {
            VmUnacctMemory(charged);
        }
    }

    /// <summary>The successor form: remap a PFN range (or nothing), then the success hook; on failure the error
    /// hook may change the error. Linux (v6.19): mm/util.c mmap_action_complete().</summary>
    private Errno PerformMmapAction(MmapAction action, Vma vma)
    {
        Errno err = Errno.None;
        if (action.Type is MmapActionType.RemapPfn or MmapActionType.IoRemapPfn)
        {
            vma.Flags |= VmFlags.Io | VmFlags.PfnMap | VmFlags.DontExpand | VmFlags.DontDump;
            InsertPagesForDriver(vma, action.RemapStart, action.RemapStart + action.RemapSize);
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
    private void TraceHook(string name, MappedFile file, ulong start, ulong end, Vma? vma, Errno result)
    {
        if (HookTracer is not { } tracer)
        {
            return;
        }

        string locks = MmapLock.IsWriteLocked ? "mmap:write" : MmapLock.IsReadLocked ? "mmap:read" : "none";
        if (vma is not null && vma.IsWriteLocked)
        {
            locks += ",vma:write";
        }

        string res = result == Errno.None ? "0" : result.ToString();
        tracer($"# hook {name} file={file.Path} start=0x{start:x} end=0x{end:x} locks={locks} -> {res}");
    }
}
