using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm.Exec;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// mmap's argument checks and placement (do_mmap()), brk, and the mappings execve makes beside mmap
/// (vm_brk_flags(), special mappings, stack extension).
/// Linux: mm/mmap.c.
/// </summary>
internal static class MmapOps
{
    /// <summary>
    /// Maps [addr, addr + len) (or a place chosen for it) for an anonymous mapping. Returns the address or the
    /// errno; <paramref name="populate"/> is the length to prefault afterwards.
    /// Linux: mm/mmap.c do_mmap() (anonymous branch).
    /// </summary>
    internal static SysResult DoMmapAnonymous(AddressSpace mm, ulong addr, ulong len, Prot prot, MapFlags flags, out ulong populate) =>
        DoMmap(mm, null, addr, len, prot, flags, 0, hugePageSize: 0, out populate);

    /// <summary>Linux: include/linux/mman.h LEGACY_MAP_MASK, the flags MAP_SHARED silently accepts.</summary>
    private const MapFlags LegacyMapMask = MapFlags.Shared | MapFlags.Private | MapFlags.Fixed | MapFlags.Anonymous
        | MapFlags.DenyWrite | MapFlags.Executable | MapFlags.Uninitialized | MapFlags.GrowsDown | MapFlags.Locked
        | MapFlags.NoReserve | MapFlags.Populate | MapFlags.NonBlock | MapFlags.Stack | MapFlags.HugeTlb;

    /// <summary>
    /// As above; a non-zero <paramref name="hugePageSize"/> is an anonymous MAP_HUGETLB mapping, whose pool
    /// reservation fails with ENOMEM after every argument check when the pool is too small.
    /// Linux: mm/mmap.c ksys_mmap_pgoff() (hugetlb_file_setup) and fs/hugetlbfs hugetlb_reserve_pages().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static SysResult DoMmap(AddressSpace mm, MappedFile? file, ulong addr, ulong len, Prot prot, MapFlags flags, ulong pgoffArg, ulong hugePageSize, out ulong populate)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_mmap");
        populate = 0;
        if (len == 0)
        {
            return Errno.EINVAL;
        }

        if ((flags & MapFlags.FixedNoReplace) != 0)
        {
            flags |= MapFlags.Fixed;
        }

        if ((flags & MapFlags.Fixed) == 0)
        {
            addr = RoundHintToMin(mm, addr);
        }

        len = PageConstants.PageAlign(len);
        if (len == 0)
        {
            return Errno.ENOMEM;
        }

        // pgoff is ignored for anonymous mappings until it is set from the address below, but the overflow
        // check runs on the caller's value first.
        if (mm.MapCount > mm.Config.MaxMapCount)
        {
            return Errno.ENOMEM;
        }

        VmFlags vmFlags = CalcVmProtBits(prot) | CalcVmFlagBits(flags) | mm.DefFlags
            | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;

        SysResult area = UnmappedArea.GetUnmappedArea(mm, hasFile: file is not null, fileIsShmem: file?.IsShmem == true, fileThpAligned: file?.Inode.ThpAlignedMappings == true, addr, len, pgoffArg, flags, vmFlags);
        if (area.IsError)
        {
            return area;
        }

        addr = area.Value;
        if ((flags & MapFlags.FixedNoReplace) != 0 && mm.Tree.FindIntersection(addr, addr + len) is not null)
        {
            return Errno.EEXIST;
        }

        if ((flags & MapFlags.Locked) != 0 && !mm.CanDoMlock())
        {
            return Errno.EPERM;
        }

        if (!mm.MlockFutureOk(vmFlags, len))
        {
            return Errno.EAGAIN;
        }

        ulong pgoff;
        if (file is not null)
        {
            // file_mmap_ok(): the offset plus the length must fit (ULONG_MAX for devices, LLONG_MAX for files).
            ulong maxSize = file.Inode.IsDevice ? ulong.MaxValue : long.MaxValue;
            if (len > maxSize || pgoffArg > (maxSize - len) >> PageConstants.PageShift)
            {
                return Errno.EOVERFLOW;
            }

            Errno fileCheck = CheckFileMapping(file, prot, ref flags, ref vmFlags);
            if (fileCheck != Errno.None)
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
                        return Errno.EINVAL;
                    }

                    pgoff = 0;
                    vmFlags |= VmFlags.Shared | VmFlags.MayShare;
                    break;
                case MapFlags.Droppable:
                    if ((flags & (MapFlags.Locked | MapFlags.HugeTlb)) != 0 || (vmFlags & VmFlags.GrowsDown) != 0)
                    {
                        return Errno.EINVAL;
                    }

                    vmFlags |= VmFlags.Droppable | VmFlags.NoReserve | VmFlags.WipeOnFork | VmFlags.DontDump;
                    pgoff = addr >> PageConstants.PageShift;
                    break;
                case MapFlags.Private:
                    pgoff = addr >> PageConstants.PageShift;
                    break;
                default:
                    return Errno.EINVAL;
            }
        }

        if ((flags & MapFlags.NoReserve) != 0 && mm.Config.OvercommitMode != 2)
        {
            vmFlags |= VmFlags.NoReserve;
        }

        if (hugePageSize != 0 && (flags & MapFlags.NoReserve) == 0 && mm.Config.HugePages * (2UL << 20) < len)
        {
            return Errno.ENOMEM;
        }

        SysResult ret = VmaOps.MmapRegion(mm, file, addr, len, vmFlags, pgoff);
        if (!ret.IsError && ((vmFlags & VmFlags.Locked) != 0 || (flags & (MapFlags.Populate | MapFlags.NonBlock)) == MapFlags.Populate))
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
    private static Errno CheckFileMapping(MappedFile file, Prot prot, ref MapFlags flags, ref VmFlags vmFlags)
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
                    return Errno.EOPNOTSUPP;
                }

                if ((prot & Prot.Write) != 0 && !file.CanWrite)
                {
                    return Errno.EACCES;
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
                    return Errno.EACCES;
                }

                if (file.Inode.NoExec)
                {
                    if ((vmFlags & VmFlags.Exec) != 0)
                    {
                        return Errno.EPERM;
                    }

                    vmFlags &= ~VmFlags.MayExec;
                }

                Errno hooks = HookContract.ValidateHooks(file.Operations);
                if (hooks != Errno.None)
                {
                    return hooks;
                }

                if ((vmFlags & VmFlags.GrowsDown) != 0)
                {
                    return Errno.EINVAL;
                }

                return Errno.None;
            default:
                return Errno.EINVAL;
        }
    }

    /// <summary>Linux: mm/mmap.c round_hint_to_min().</summary>
    private static ulong RoundHintToMin(AddressSpace mm, ulong hint)
    {
        hint &= PageConstants.PageMask;
        if (hint != 0 && hint < mm.Config.EffectiveMmapMinAddr)
        {
            return PageConstants.PageAlign(mm.Config.EffectiveMmapMinAddr);
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

    /// <summary>Linux: mm/mmap.c brk syscall. Returns the new (or unchanged) break.</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: the lock is held for read if the heap shrank (downgraded) or a locked heap grew (released, then taken for read to populate).</remarks>
    internal static ulong DoBrk(AddressSpace mm, ulong brk)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "brk");
        ulong origBrk = mm.Brk;
        ulong minBrk = mm.StartBrk;
        if (brk < minBrk)
        {
            return origBrk;
        }

        // check_data_rlimit(): the heap plus data must fit RLIMIT_DATA.
        if (mm.Config.RlimitData != MmConfig.Unlimited && brk - mm.StartBrk > mm.Config.RlimitData)
        {
            return origBrk;
        }

        ulong newBrk = PageConstants.PageAlign(brk);
        ulong oldBrk = PageConstants.PageAlign(mm.Brk);
        if (oldBrk == newBrk)
        {
            mm.Brk = brk;
            return brk;
        }

        if (brk <= mm.Brk)
        {
            // Always allow shrinking, unless the range holds a non-brk VMA.
            Vma? brkVma = mm.Tree.FindIntersection(newBrk, oldBrk);
            if (brkVma is null || brkVma.Start >= oldBrk)
            {
                return origBrk;
            }

            mm.Brk = brk;
            // Linux: brk() calls do_vmi_align_munmap() with unlock=true: the lock is downgraded to read.
            if (VmaOps.DoAlignedMunmap(mm, newBrk, oldBrk, downgrade: true) != Errno.None)
            {
                mm.Brk = origBrk;
                return origBrk;
            }

            return brk;
        }

        if (mm.Tree.FindIntersection(oldBrk, newBrk + PageConstants.PageSize) is not null)
        {
            return origBrk;
        }

        // check_brk_limits(): the range must be mappable, and with mlockall(MCL_FUTURE) lockable.
        if (UnmappedArea.GetUnmappedArea(mm, false, false, oldBrk, newBrk - oldBrk, 0, MapFlags.Fixed, VmFlags.None).IsError
            || !mm.MlockFutureOk(mm.DefFlags, newBrk - oldBrk))
        {
            return origBrk;
        }

        Vma? next = mm.Tree.FindIntersection(oldBrk, newBrk + PageConstants.PageSize + PageConstants.StackGuardGap);
        if (next is not null && newBrk + PageConstants.PageSize > next.StartGap(PageConstants.StackGuardGap))
        {
            return origBrk;
        }

        Vma? prev = mm.Tree.FindPrev(oldBrk);
        Vma? brkvma = prev is not null && prev.End > mm.StartBrk ? prev : null;
        if (VmaOps.DoBrkFlags(mm, brkvma, oldBrk, newBrk - oldBrk) != Errno.None)
        {
            return origBrk;
        }

        mm.Brk = brk;
        if ((mm.DefFlags & VmFlags.Locked) != 0)
        {
            MmapLockOps.UnlockForPopulate(mm);
            _ = MemoryOps.MmPopulate(mm, oldBrk, newBrk - oldBrk, ignoreErrors: true);
        }

        return brk;
    }

    /// <summary>
    /// Maps anonymous zero pages at exactly [addr, addr + request) for an ELF segment's bss, replacing what is
    /// there; merges with an anonymous neighbour below as brk does. Returns an errno.
    /// Linux: mm/mmap.c vm_brk_flags() → check_brk_limits(), do_vmi_munmap(), mm/vma.c do_brk_flags().
    /// </summary>
    internal static Errno VmBrkFlags(AddressSpace mm, ulong addr, ulong request, bool exec)
    {
        ulong len = PageConstants.PageAlign(request);
        if (len < request)
        {
            return Errno.ENOMEM;
        }

        if (len == 0)
        {
            return Errno.None;
        }

        SysResult mapped = UnmappedArea.GetUnmappedArea(mm, false, false, addr, len, 0, MapFlags.Fixed, VmFlags.None);
        if (mapped.IsError)
        {
            return mapped.Errno;
        }

        if (!mm.MlockFutureOk(mm.DefFlags, len))
        {
            return Errno.EAGAIN;
        }

        Errno err = VmaOps.DoMunmap(mm, addr, len);
        if (err != Errno.None)
        {
            return err;
        }

        err = VmaOps.DoBrkFlags(mm, mm.Tree.FindPrev(addr), addr, len, exec ? VmFlags.Exec : VmFlags.None);
        if (err == Errno.None && (mm.DefFlags & VmFlags.Locked) != 0)
        {
            _ = MemoryOps.MmPopulate(mm, addr, len, ignoreErrors: true);
        }

        return err;
    }

    /// <summary>Installs one mapping of the vDSO block at <paramref name="addr"/>: no file, named, refusing
    /// splits. Linux: mm/mmap.c _install_special_mapping() (VM_DONTEXPAND, vm_stat_account()).</summary>
    internal static Vma InstallSpecialMapping(AddressSpace mm, ulong addr, SpecialMapping mapping) =>
        mm.InstallInitialVma(addr, addr + mapping.Length, mapping.Flags | mm.DefFlags, 0, null, SpecialMappingOps(mapping.Name), faulted: false);

    /// <summary>The operations of a special mapping named <paramref name="name"/>: it keeps its name in maps and
    /// refuses to be split. Linux: mm/mmap.c special_mapping_vmops (.name, .may_split returning -EINVAL).</summary>
    internal static VmOperations SpecialMappingOps(string name) =>
        new() { Name = name, IsSpecialMapping = true, MaySplit = _ => Errno.EINVAL };

    /// <summary>Extends the stack VMA down to cover <paramref name="addr"/>, as the kernel does before writing the
    /// ELF tables. Linux: mm/mmap.c find_extend_vma_locked() → expand_stack_locked().</summary>
    internal static Errno ExtendStackTo(AddressSpace mm, Vma stack, ulong addr) =>
        addr >= stack.Start ? Errno.None : MemoryOps.ExpandStack(mm, stack, addr);
}
