using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>Unmapping: gather the VMAs of a range (splitting its ends), then remove them.</summary>
internal static partial class VmaOps
{
    /// <summary>
    /// Splits the VMAs at the ends of [start, end) and collects those inside, write-locking each. On error the
    /// splits already made stay, as in Linux, and nothing is unmapped.
    /// Linux: mm/vma.c vms_gather_munmap_vmas().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static Errno GatherMunmap(AddressSpace mm, Vma first, ulong start, ulong end, VmaMunmap vms)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "vms_gather_munmap_vmas");
        vms.Start = start;
        vms.End = end;
        Vma vma = first;
        if (start > vma.Start)
        {
            if (end < vma.End && mm.MapCount >= mm.Config.MaxMapCount)
            {
                return Errno.ENOMEM;
            }

            if ((vma.Flags & VmFlags.Sealed) != 0)
            {
                return Errno.EPERM;
            }

            Errno err = SplitVmaNoMapCountCheck(mm, vma, start, newBelow: true, out _);
            if (err != Errno.None)
            {
                return err;
            }
        }

        vms.Prev = vma.PrevVma;
        Vma? next = vma;
        while (next is not null && next.Start < end)
        {
            if ((next.Flags & VmFlags.Sealed) != 0)
            {
                vms.Vmas.Clear();
                return Errno.EPERM;
            }

            if (next.End > end)
            {
                Errno err = SplitVmaNoMapCountCheck(mm, next, end, newBelow: false, out _);
                if (err != Errno.None)
                {
                    vms.Vmas.Clear();
                    return err;
                }
            }

            // Each VMA to remove is write-locked before it is detached, so no fault can use it any more.
            next.StartWrite();
            vms.Vmas.Add(next);
            ulong pages = next.Pages;
            vms.NrPages += pages;
            VmFlags f = next.Flags;
            if ((f & VmFlags.Locked) != 0)
            {
                vms.LockedVm += pages;
            }

            if ((f & VmFlags.Account) != 0)
            {
                vms.NrAccounted += pages;
            }

            if (AddressSpace.IsExecMapping(f))
            {
                vms.ExecVm += pages;
            }
            else if (AddressSpace.IsStackMapping(f))
            {
                vms.StackVm += pages;
            }
            else if (AddressSpace.IsDataMapping(f))
            {
                vms.DataVm += pages;
            }

            next = next.NextVma;
        }

        vms.Next = next;
        return Errno.None;
    }

    /// <summary>Removes the gathered VMAs from the tree, then their pages and their counters, and closes them.
    /// With <paramref name="downgrade"/> (munmap, brk and mremap shrinking in place) the mmap write lock is
    /// downgraded to read once the VMAs are out of the tree, so their pages are freed and their vm_ops close
    /// hooks run under the read lock, and the caller's lock scope releases the read lock.
    /// Linux: mm/vma.c do_vmi_align_munmap() (vma_iter_clear_gfp() under the write lock),
    /// vms_complete_munmap_vmas() (<c>if (vms->unlock) mmap_write_downgrade(mm)</c>), remove_vma() → vma_close().</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: with <paramref name="downgrade"/>, the mmap
    /// lock is held for read.</remarks>
    internal static void CompleteMunmap(AddressSpace mm, VmaMunmap vms, bool downgrade = false)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "vms_complete_munmap_vmas");
        foreach (Vma vma in vms.Vmas)
        {
            mm.Tree.Remove(vma);
        }

        if (downgrade)
        {
            mm.MmapLock.Downgrade();
        }

        bool shmemGone = false;
        foreach (Vma vma in vms.Vmas)
        {
            mm.Pages.Clear(vma.Start >> PageConstants.PageShift, vma.End >> PageConstants.PageShift, MemoryOps.HasRecency(vma));
            vma.VmOps?.Close?.Invoke(vma);
            shmemGone |= vma.File is { IsShmem: true };
        }

        if (shmemGone)
        {
            foreach (Vma vma in vms.Vmas)
            {
                if (vma.File is { IsShmem: true } f)
                {
                    mm.Manager.PutFile(f.Inode);
                }
            }
        }

        mm.UpdateHiwaterVm();
        mm.TotalVm -= vms.NrPages;
        mm.LockedVm -= vms.LockedVm;
        mm.ExecVm -= vms.ExecVm;
        mm.StackVm -= vms.StackVm;
        mm.DataVm -= vms.DataVm;
        if (vms.NrAccounted != 0)
        {
            mm.VmUnacctMemory(vms.NrAccounted);
        }

        vms.Vmas.Clear();
    }

    /// <summary>
    /// munmap of [start, start + len). With <paramref name="downgrade"/> the write lock is downgraded to read
    /// once the VMAs are detached (see <see cref="CompleteMunmap"/>). Linux: mm/vma.c do_vmi_munmap().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: with <paramref name="downgrade"/> and
    /// something unmapped, the mmap lock is held for read.</remarks>
    internal static Errno DoMunmap(AddressSpace mm, ulong start, ulong len, bool downgrade = false)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_vmi_munmap");
        if (!PageConstants.IsPageAligned(start) || start > PageConstants.TaskSize || len > PageConstants.TaskSize - start)
        {
            return Errno.EINVAL;
        }

        ulong end = start + PageConstants.PageAlign(len);
        if (end == start)
        {
            return Errno.EINVAL;
        }

        return DoAlignedMunmap(mm, start, end, downgrade);
    }

    /// <summary>Unmaps a page-aligned, valid range. Linux: do_vmi_align_munmap().</summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: as <see cref="DoMunmap"/>.</remarks>
    internal static Errno DoAlignedMunmap(AddressSpace mm, ulong start, ulong end, bool downgrade = false)
    {
        Vma? vma = mm.Tree.FindIntersection(start, end);
        if (vma is null)
        {
            return Errno.None;
        }

        VmaMunmap vms = mm.MunmapScratch ?? new VmaMunmap();
        mm.MunmapScratch = null;
        vms.Reset();
        Errno err = GatherMunmap(mm, vma, start, end, vms);
        if (err == Errno.None)
        {
            CompleteMunmap(mm, vms, downgrade);
        }

        vms.Reset();
        mm.MunmapScratch = vms;
        return err;
    }
}
