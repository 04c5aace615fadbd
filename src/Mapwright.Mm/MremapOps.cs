using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mremap. Linux: mm/mremap.c (6.17+ structure: struct vma_remap_struct).</summary>
internal static class MremapOps
{
    private enum RemapType
    {
        NoResize,
        Shrink,
        Expand,
    }

    /// <summary>The state of one mremap. Linux: mm/mremap.c struct vma_remap_struct.</summary>
    private sealed class VmaRemap
    {
        public ulong Addr;
        public ulong OldLen;
        public ulong NewLen;
        public MremapFlags Flags;
        public ulong NewAddr;
        public Vma? Vma;
        public ulong Delta;
        public RemapType Type;
        public ulong Charged;
        public bool PopulateExpand;

        public bool ImpliesNewAddr => (Flags & (MremapFlags.Fixed | MremapFlags.DontUnmap)) != 0;
    }

    /// <summary>Linux: mm/mremap.c do_mremap(). Returns the new address or the errno.</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: held for read if it shrank in place (downgraded) or grew a locked VMA (released, then taken for read to populate).</remarks>
    internal static SysResult DoMremap(AddressSpace mm, ulong addr, ulong oldLen, ulong newLen, MremapFlags flags, ulong newAddr)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_mremap");
        var vrm = new VmaRemap
        {
            Addr = addr,
            OldLen = PageConstants.PageAlign(oldLen),
            NewLen = PageConstants.PageAlign(newLen),
            Flags = flags,
            NewAddr = newAddr,
        };

        Errno err = CheckMremapParams(mm, vrm);
        if (err != Errno.None)
        {
            return err;
        }

        SysResult res;
        if ((vrm.Flags & MremapFlags.Fixed) != 0 && vrm.OldLen == vrm.NewLen)
        {
            res = RemapMove(mm, vrm);
        }
        else
        {
            vrm.Vma = mm.Tree.Lookup(vrm.Addr);
            err = CheckPrepVma(mm, vrm);
            res = err != Errno.None ? err : vrm.ImpliesNewAddr ? MremapTo(mm, vrm) : MremapAt(mm, vrm);
        }

        if (!res.IsError && vrm.PopulateExpand)
        {
            MmapLockOps.UnlockForPopulate(mm);
            _ = MemoryOps.MmPopulate(mm, vrm.NewAddr + vrm.OldLen, vrm.Delta, ignoreErrors: true);
        }

        return res;
    }

    /// <summary>Linux: mm/mremap.c check_mremap_params().</summary>
    private static Errno CheckMremapParams(AddressSpace mm, VmaRemap vrm)
    {
        if ((vrm.Flags & ~(MremapFlags.MayMove | MremapFlags.Fixed | MremapFlags.DontUnmap)) != 0)
        {
            return Errno.EINVAL;
        }

        if (!PageConstants.IsPageAligned(vrm.Addr) || vrm.NewLen == 0 || vrm.NewLen > PageConstants.TaskSize)
        {
            return Errno.EINVAL;
        }

        if (!vrm.ImpliesNewAddr)
        {
            return Errno.None;
        }

        if (vrm.NewAddr > PageConstants.TaskSize - vrm.NewLen || !PageConstants.IsPageAligned(vrm.NewAddr))
        {
            return Errno.EINVAL;
        }

        if ((vrm.Flags & MremapFlags.MayMove) == 0)
        {
            return Errno.EINVAL;
        }

        if ((vrm.Flags & MremapFlags.DontUnmap) != 0 && vrm.OldLen != vrm.NewLen)
        {
            return Errno.EINVAL;
        }

        // vrm_overlaps()
        ulong startOld = vrm.Addr, endOld = vrm.Addr + vrm.OldLen;
        ulong startNew = vrm.NewAddr, endNew = vrm.NewAddr + vrm.NewLen;
        if (endOld > startNew && endNew > startOld)
        {
            return Errno.EINVAL;
        }

        if ((ulong)(mm.MapCount + 2) >= (ulong)(mm.Config.MaxMapCount - 3))
        {
            return Errno.ENOMEM;
        }

        return Errno.None;
    }

    /// <summary>Linux: mm/mremap.c check_prep_vma().</summary>
    private static Errno CheckPrepVma(AddressSpace mm, VmaRemap vrm)
    {
        Vma? vma = vrm.Vma;
        if (vma is null)
        {
            return Errno.EFAULT;
        }

        if ((vma.Flags & VmFlags.Sealed) != 0)
        {
            return Errno.EPERM;
        }

        vrm.Delta = vrm.OldLen > vrm.NewLen ? vrm.OldLen - vrm.NewLen : vrm.NewLen - vrm.OldLen;
        vrm.Type = vrm.Delta == 0 ? RemapType.NoResize : vrm.OldLen > vrm.NewLen ? RemapType.Shrink : RemapType.Expand;
        if (!vrm.ImpliesNewAddr)
        {
            vrm.NewAddr = vrm.Addr;
        }

        if (vrm.Type != RemapType.Expand && !vrm.ImpliesNewAddr)
        {
            return Errno.None;
        }

        ulong oldLen = vrm.OldLen;
        if (oldLen == 0 && (vma.Flags & (VmFlags.Shared | VmFlags.MayShare)) == 0)
        {
            return Errno.EINVAL;
        }

        if ((vrm.Flags & MremapFlags.DontUnmap) != 0 && (vma.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0)
        {
            return Errno.EINVAL;
        }

        if (vrm.Type == RemapType.Shrink)
        {
            oldLen = vrm.NewLen;
        }

        if (oldLen > vma.End - vrm.Addr)
        {
            return Errno.EFAULT;
        }

        if (vrm.NewLen == oldLen)
        {
            return Errno.None;
        }

        if ((vma.Flags & VmFlags.Locked) != 0)
        {
            vrm.PopulateExpand = true;
        }

        ulong pgoff = ((vrm.Addr - vma.Start) >> PageConstants.PageShift) + vma.PgOff;
        if (pgoff + (vrm.NewLen >> PageConstants.PageShift) < pgoff)
        {
            return Errno.EINVAL;
        }

        if ((vma.Flags & (VmFlags.DontExpand | VmFlags.PfnMap)) != 0)
        {
            return Errno.EFAULT;
        }

        if (!mm.MlockFutureOk(vma.Flags, vrm.Delta))
        {
            return Errno.EAGAIN;
        }

        if (!mm.MayExpandVm(vma.Flags, vrm.Delta >> PageConstants.PageShift))
        {
            return Errno.ENOMEM;
        }

        return Errno.None;
    }

    /// <summary>Resize in place. Linux: mm/mremap.c mremap_at().</summary>
    private static SysResult MremapAt(AddressSpace mm, VmaRemap vrm)
    {
        switch (vrm.Type)
        {
            case RemapType.NoResize:
                return SysResult.Ok(vrm.Addr);
            case RemapType.Shrink:
                {
                    // Linux: mremap_at() → shrink_vma(vrm, drop_lock=true): the unmap downgrades the lock.
                    Errno err = VmaOps.DoMunmap(mm, vrm.Addr + vrm.NewLen, vrm.Delta, downgrade: true);
                    return err != Errno.None ? err : SysResult.Ok(vrm.Addr);
                }

            default:
                return ExpandVma(mm, vrm);
        }
    }

    /// <summary>Linux: mm/mremap.c expand_vma().</summary>
    private static SysResult ExpandVma(AddressSpace mm, VmaRemap vrm)
    {
        Vma vma = vrm.Vma!;
        if (vma.End - vrm.Addr == vrm.OldLen && VmaExpandable(mm, vma, vrm.Delta))
        {
            if (!VrmCalcCharge(mm, vrm))
            {
                return Errno.ENOMEM;
            }

            var vmg = VmaMergeState.ForNewRange(mm, vma, vma.NextVma, vma.End, vma.End + vrm.Delta,
                vma.PgOff + vma.Pages, vma.Flags, vma.File, vma.AnonVma);
            Vma? merged = VmaOps.MergeNewRange(ref vmg);
            if (merged is null)
            {
                VrmUncharge(mm, vrm);
                return Errno.ENOMEM;
            }

            vrm.Vma = merged;
            VrmStatAccount(mm, vrm, vrm.Delta);
            return SysResult.Ok(vrm.Addr);
        }

        if ((vrm.Flags & MremapFlags.MayMove) == 0)
        {
            return Errno.ENOMEM;
        }

        Errno err = VrmSetNewAddr(mm, vrm);
        return err != Errno.None ? err : MoveVma(mm, vrm);
    }

    /// <summary>Linux: mm/mremap.c vma_expandable().</summary>
    private static bool VmaExpandable(AddressSpace mm, Vma vma, ulong delta)
    {
        ulong end = vma.End + delta;
        if (end < vma.End)
        {
            return false;
        }

        if (mm.Tree.FindIntersection(vma.End, end) is not null)
        {
            return false;
        }

        SysResult r = UnmappedArea.GetUnmappedArea(mm, vma.File is not null, vma.File?.IsShmem == true, vma.File?.Inode.ThpAlignedMappings == true, vma.Start, end - vma.Start, 0, MapFlags.Fixed, VmFlags.None);
        return !r.IsError;
    }

    /// <summary>Linux: mm/mremap.c vrm_calc_charge().</summary>
    private static bool VrmCalcCharge(AddressSpace mm, VmaRemap vrm)
    {
        if ((vrm.Vma!.Flags & VmFlags.Account) == 0)
        {
            return true;
        }

        ulong charged = (vrm.Flags & MremapFlags.DontUnmap) != 0 ? vrm.NewLen >> PageConstants.PageShift : vrm.Delta >> PageConstants.PageShift;
        if (mm.VmEnoughMemory(charged) != Errno.None)
        {
            return false;
        }

        vrm.Charged = charged;
        return true;
    }

    private static void VrmUncharge(AddressSpace mm, VmaRemap vrm)
    {
        if (vrm.Charged != 0)
        {
            mm.VmUnacctMemory(vrm.Charged);
            vrm.Charged = 0;
        }
    }

    /// <summary>Linux: mm/mremap.c vrm_stat_account().</summary>
    private static void VrmStatAccount(AddressSpace mm, VmaRemap vrm, ulong bytes)
    {
        ulong pages = bytes >> PageConstants.PageShift;
        mm.StatAccount(vrm.Vma!.Flags, (long)pages);
        if ((vrm.Vma.Flags & VmFlags.Locked) != 0)
        {
            mm.LockedVm += pages;
        }
    }

    /// <summary>Linux: mm/mremap.c mremap_to().</summary>
    private static SysResult MremapTo(AddressSpace mm, VmaRemap vrm)
    {
        if ((vrm.Flags & MremapFlags.Fixed) != 0)
        {
            Errno err = VmaOps.DoMunmap(mm, vrm.NewAddr, vrm.NewLen);
            vrm.Vma = null;
            if (err != Errno.None)
            {
                return err;
            }

            vrm.Vma = mm.Tree.Lookup(vrm.Addr);
            if (vrm.Vma is null)
            {
                return Errno.EFAULT;
            }
        }

        if (vrm.Type == RemapType.Shrink)
        {
            Errno err = VmaOps.DoMunmap(mm, vrm.Addr + vrm.NewLen, vrm.Delta);
            if (err != Errno.None)
            {
                return err;
            }

            // The unmap split the VMA and may have freed the part vrm.Vma pointed to: look it up again
            // (shrink_vma() does the same).
            vrm.Vma = mm.Tree.Lookup(vrm.Addr);
            if (vrm.Vma is null)
            {
                return Errno.EFAULT;
            }

            vrm.OldLen = vrm.NewLen;
        }

        if ((vrm.Flags & MremapFlags.DontUnmap) != 0 && !mm.MayExpandVm(vrm.Vma!.Flags, vrm.OldLen >> PageConstants.PageShift))
        {
            return Errno.ENOMEM;
        }

        Errno e = VrmSetNewAddr(mm, vrm);
        return e != Errno.None ? e : MoveVma(mm, vrm);
    }

    /// <summary>Linux: mm/mremap.c vrm_set_new_addr().</summary>
    private static Errno VrmSetNewAddr(AddressSpace mm, VmaRemap vrm)
    {
        Vma vma = vrm.Vma!;
        ulong pgoff = vma.PgOff + ((vrm.Addr - vma.Start) >> PageConstants.PageShift);
        ulong hint = vrm.ImpliesNewAddr ? vrm.NewAddr : 0;
        MapFlags mapFlags = MapFlags.None;
        if ((vrm.Flags & MremapFlags.Fixed) != 0)
        {
            mapFlags |= MapFlags.Fixed;
        }

        if ((vma.Flags & VmFlags.MayShare) != 0)
        {
            mapFlags |= MapFlags.Shared;
        }

        SysResult res = UnmappedArea.GetUnmappedArea(mm, vma.File is not null, vma.File?.IsShmem == true, vma.File?.Inode.ThpAlignedMappings == true, hint, vrm.NewLen, pgoff, mapFlags, VmFlags.None);
        if (res.IsError)
        {
            return res.Errno;
        }

        vrm.NewAddr = res.Value;
        return Errno.None;
    }

    /// <summary>Linux: mm/mremap.c move_vma() with prep_move_vma(), copy_vma_and_data() and unmap_source_vma().</summary>
    private static SysResult MoveVma(AddressSpace mm, VmaRemap vrm)
    {
        Vma vma = vrm.Vma!;
        if (mm.MapCount >= mm.Config.MaxMapCount - 3)
        {
            return Errno.ENOMEM;
        }

        if (vma.VmOps?.MaySplit is { } maySplit)
        {
            Errno e = Errno.None;
            if (vma.Start != vrm.Addr)
            {
                e = maySplit(vrm.Addr);
            }

            if (e == Errno.None && vma.End != vrm.Addr + vrm.OldLen)
            {
                e = maySplit(vrm.Addr + vrm.OldLen);
            }

            if (e != Errno.None)
            {
                return e;
            }
        }

        if (!VrmCalcCharge(mm, vrm))
        {
            return Errno.ENOMEM;
        }

        // No fault may use the source while it moves. Linux: move_vma() vma_start_write(vrm->vma).
        vma.StartWrite();

        // copy_vma(): an unfaulted anonymous VMA takes the pgoff of its new place, so it can merge there.
        ulong newPgoff = vma.PgOff + ((vrm.Addr - vma.Start) >> PageConstants.PageShift);
        if (vma.IsAnonymous && vma.AnonVma is null)
        {
            newPgoff = vrm.NewAddr >> PageConstants.PageShift;
        }

        ulong vmaStart = vma.Start;
        Vma? prev = mm.Tree.FindPrev(vrm.NewAddr);
        Vma? next = prev is null ? mm.Tree.First : prev.NextVma;
        var vmg = VmaMergeState.ForNewRange(mm, prev, next, vrm.NewAddr, vrm.NewAddr + vrm.NewLen, newPgoff, vma.Flags, vma.File, vma.AnonVma);
        vmg.CopiedFrom = vma;
        Vma? newVma = VmaOps.MergeNewRange(ref vmg);
        if (newVma is not null)
        {
            if (vmaStart >= newVma.Start && vmaStart < newVma.End)
            {
                // The source merged into its own destination (only possible while unfaulted).
                vma = newVma;
                vrm.Vma = newVma;
            }
        }
        else
        {
            newVma = new Vma(vrm.NewAddr, vrm.NewAddr + vrm.NewLen, newPgoff, vma.Flags, vma.File)
            {
                VmOps = vma.VmOps,
                PrivateData = vma.PrivateData,
                AnonVma = vma.AnonVma,
                ForkedAnon = vma.ForkedAnon,
            };
            mm.Tree.Insert(newVma);
            newVma.VmOps?.Open?.Invoke(newVma);
        }

        // The copy is write-locked once in the tree (vma_link(), or vma_expand() of the merge target), so the
        // vm_ops mremap hook below sees it write-locked. Linux: mm/vma.c copy_vma() → vma_link().
        newVma.StartWrite();

        mm.Pages.Move(vrm.Addr >> PageConstants.PageShift, vrm.NewAddr >> PageConstants.PageShift, vrm.OldLen >> PageConstants.PageShift);

        if (vma.VmOps?.Mremap is { } onMremap)
        {
            Errno hookErr = onMremap(newVma);
            if (hookErr != Errno.None)
            {
                // The move is undone: page tables go back and the new VMA is unmapped.
                mm.Pages.Move(vrm.NewAddr >> PageConstants.PageShift, vrm.Addr >> PageConstants.PageShift, vrm.OldLen >> PageConstants.PageShift);
                VrmUncharge(mm, vrm);
                _ = VmaOps.DoAlignedMunmap(mm, newVma.Start, newVma.End);
                return hookErr;
            }
        }

        // A move is not a peak: move_vma() puts hiwater_vm back after unmapping the source.
        ulong hiwaterVm = mm.HiwaterVm;
        VrmStatAccount(mm, vrm, vrm.NewLen);
        if ((vrm.Flags & MremapFlags.DontUnmap) != 0)
        {
            // dontunmap_complete(): the whole source VMA stays, unlocked; locked_vm is not adjusted. Since
            // 0e59f47c15ce (6.18-rc3) VM_ACCOUNT is kept: the old mapping is still charged.
            Vma src = mm.Tree.Lookup(vrm.Addr) ?? vma;
            src.Flags &= ~VmFlags.LockedMask;

            // The anon_vma links of a wholly moved source are no longer needed. Linux: unlink_anon_vmas().
            if (!ReferenceEquals(newVma, src) && vrm.Addr == src.Start && vrm.Addr + vrm.OldLen == src.End)
            {
                src.AnonVma = null;
                src.ForkedAnon = false;
            }
        }
        else
        {
            UnmapSourceVma(mm, vrm);
        }

        mm.HiwaterVm = hiwaterVm;
        return SysResult.Ok(vrm.NewAddr);
    }

    /// <summary>Linux: mm/mremap.c unmap_source_vma().</summary>
    private static void UnmapSourceVma(AddressSpace mm, VmaRemap vrm)
    {
        ulong addr = vrm.Addr;
        ulong len = vrm.OldLen;
        Vma? vma = mm.Tree.Lookup(addr);
        if (vma is null)
        {
            return;
        }

        bool accountableMove = (vma.Flags & VmFlags.Account) != 0;
        ulong vmStart = vma.Start;
        ulong vmEnd = vma.End;
        if (accountableMove)
        {
            vma.Flags &= ~VmFlags.Account;
        }

        Errno err = VmaOps.DoMunmap(mm, addr, len);
        if (err != Errno.None)
        {
            if (accountableMove && len != 0)
            {
                mm.CommittedPages += (long)(len >> PageConstants.PageShift);
            }

            if (accountableMove)
            {
                vma.Flags |= VmFlags.Account;
            }

            return;
        }

        if (accountableMove)
        {
            ulong end = addr + len;
            if (vmStart < addr && mm.Tree.FindPrev(addr) is { } p)
            {
                p.Flags |= VmFlags.Account;
            }

            if (vmEnd > end && mm.Tree.FindVma(end) is { } n)
            {
                n.Flags |= VmFlags.Account;
            }
        }
    }

    /// <summary>A pure move (MREMAP_FIXED, same size) of every VMA in the range, keeping the gaps between them.
    /// Linux: mm/mremap.c remap_move() (6.17+).</summary>
    private static SysResult RemapMove(AddressSpace mm, VmaRemap vrm)
    {
        ulong start = vrm.Addr;
        ulong end = vrm.Addr + vrm.OldLen;
        ulong targetAddr = vrm.NewAddr;
        SysResult res = Errno.EFAULT;
        ulong lastEnd = 0;
        bool seenVma = false;
        ulong cursor = start;
        while (true)
        {
            Vma? vma = mm.Tree.FindIntersection(cursor, end);
            if (vma is null)
            {
                break;
            }

            ulong addr = Math.Max(vma.Start, start);
            ulong len = Math.Min(end, vma.End) - addr;
            if (!seenVma && start < vma.Start)
            {
                return Errno.EFAULT;
            }

            ulong offset = seenVma ? vma.Start - lastEnd : 0;
            lastEnd = vma.End;
            bool vmaEndsBefore = vma.End < end;
            ulong vmaEnd = vma.End;
            vrm.Vma = vma;
            vrm.Addr = addr;
            vrm.NewAddr = targetAddr + offset;
            vrm.OldLen = vrm.NewLen = len;
            vrm.PopulateExpand = false;

            bool multiAllowed = vma.File is null || vma.File.IsShmem;
            if (!multiAllowed && (seenVma || vmaEndsBefore))
            {
                return Errno.EFAULT;
            }

            Errno err = CheckPrepVma(mm, vrm);
            SysResult resVma = err != Errno.None ? err : MremapTo(mm, vrm);
            if (resVma.IsError)
            {
                return resVma;
            }

            if (!seenVma)
            {
                res = resVma;
            }

            seenVma = true;
            targetAddr = resVma.Value + vrm.NewLen;
            cursor = vmaEnd;
            if (cursor >= end)
            {
                break;
            }
        }

        return res;
    }
}
