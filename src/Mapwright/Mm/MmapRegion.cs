using Mapwright.Abi;
using Mapwright.Vfs;

namespace Mapwright.Mm;

/// <summary>Creating mappings: do_mmap and mmap_region.</summary>
public sealed partial class AddressSpace
{
    private static ulong s_shmemInode = 1;

    /// <summary>
    /// Maps [addr, addr + len) (or a place chosen for it) for an anonymous mapping. Returns the address or a
    /// negative errno; <paramref name="populate"/> is the length to prefault afterwards.
    /// Linux: mm/mmap.c do_mmap() (anonymous branch).
    /// </summary>
    internal long DoMmapAnonymous(ulong addr, ulong len, Prot prot, MapFlags flags, out ulong populate) =>
        DoMmapAnonymous(addr, len, prot, flags, hugePageSize: 0, out populate);

    /// <summary>
    /// As above; a non-zero <paramref name="hugePageSize"/> is an anonymous MAP_HUGETLB mapping, whose pool
    /// reservation fails with ENOMEM after every argument check when the pool is too small.
    /// Linux: mm/mmap.c ksys_mmap_pgoff() (hugetlb_file_setup) and fs/hugetlbfs hugetlb_reserve_pages().
    /// </summary>
    internal long DoMmapAnonymous(ulong addr, ulong len, Prot prot, MapFlags flags, ulong hugePageSize, out ulong populate)
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

        long area = GetUnmappedArea(hasFile: false, fileIsShmem: false, addr, len, 0, flags, vmFlags);
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

        if ((flags & MapFlags.NoReserve) != 0 && Config.OvercommitMode != 2)
        {
            vmFlags |= VmFlags.NoReserve;
        }

        if (hugePageSize != 0 && (flags & MapFlags.NoReserve) == 0 && Config.HugePages * (2UL << 20) < len)
        {
            return -(long)Errno.ENOMEM;
        }

        long ret = MmapRegion(null, addr, len, vmFlags, pgoff);
        if (ret >= 0 && ((vmFlags & VmFlags.Locked) != 0 || (flags & (MapFlags.Populate | MapFlags.NonBlock)) == MapFlags.Populate))
        {
            populate = len;
        }

        return ret;
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
    /// Establishes the mapping at a chosen address: tears down what it replaces, checks limits, merges or
    /// creates the VMA, and accounts it. Returns addr or a negative errno.
    /// Linux: mm/vma.c mmap_region() / __mmap_region() / __mmap_setup() / __mmap_complete().
    /// </summary>
    internal long MmapRegion(MappedFile? file, ulong addr, ulong len, VmFlags vmFlags, ulong pgoff)
    {
        ulong end = addr + len;
        ulong pglen = len >> PageConstants.PageShift;
        var vms = new VmaMunmap();
        Vma? prev;
        Vma? next;
        Vma? overlap = Tree.FindIntersection(addr, end);
        if (overlap is not null)
        {
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

        if (Inject("may_expand_vm") || !MayExpandVm(vmFlags, pglen - vms.NrPages))
        {
            return -(long)Errno.ENOMEM;
        }

        ulong charged = 0;
        if (AccountableMapping(vmFlags))
        {
            charged = pglen - vms.NrAccounted;
            if (charged != 0)
            {
                Errno err = VmEnoughMemory(charged);
                if (err != Errno.None)
                {
                    return -(long)err;
                }
            }

            vms.NrAccounted = 0;
            vmFlags |= VmFlags.Account;
        }

        // Point of no return for MAP_FIXED: the old mappings are torn down here (vms_clean_up_area) and
        // removed (vms_complete_munmap_vmas); a later failure leaves the range unmapped, as in Linux.
        if (vms.Vmas.Count != 0)
        {
            CompleteMunmap(vms);
        }

        if (file is null && (vmFlags & VmFlags.Shared) != 0)
        {
            // shmem_zero_setup(): a shared anonymous mapping is backed by an unlinked shmem file.
            // Its size is the length of the mapping: growing the VMA later (mremap) leaves pages past the end.
            file = new MappedFile("/dev/zero (deleted)", 0, 1, Interlocked.Increment(ref s_shmemInode)) { IsShmem = true, Size = len };
        }

        Vma? vma = null;
        if (prev is not null || next is not null)
        {
            vma = MergeNewRange(prev, next, addr, end, pgoff, vmFlags, file, null, justExpand: false, out _);
        }

        if (vma is null)
        {
            if (Inject("vma_alloc") || Inject("vma_prealloc"))
            {
                if (charged != 0)
                {
                    VmUnacctMemory(charged);
                }

                return -(long)Errno.ENOMEM;
            }

            vma = new Vma(addr, end, pgoff, vmFlags, file);
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

        return (long)addr;
    }
}
