using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>Unmapping: gather the VMAs of a range (splitting its ends), then remove them.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// The VMAs of a range being unmapped, and the counters they carry.
    /// Linux: mm/vma.h struct vma_munmap_struct.
    /// </summary>
    internal sealed class VmaMunmap
    {
        public readonly List<Vma> Vmas = [];
        public ulong Start;
        public ulong End;
        public ulong NrPages;
        public ulong LockedVm;
        public ulong NrAccounted;
        public ulong ExecVm;
        public ulong StackVm;
        public ulong DataVm;
        public Vma? Prev;
        public Vma? Next;

        public void Reset()
        {
            Vmas.Clear();
            Start = End = NrPages = LockedVm = NrAccounted = ExecVm = StackVm = DataVm = 0;
            Prev = Next = null;
        }
    }

    /// <summary>Reused by <see cref="DoAlignedMunmap"/> (one task, and it is never re-entered): munmap
    /// allocates nothing but what it frees.</summary>
    private VmaMunmap? _munmapScratch;

    /// <summary>
    /// Splits the VMAs at the ends of [start, end) and collects those inside. On error the splits already made
    /// stay, as in Linux, and nothing is unmapped.
    /// Linux: mm/vma.c vms_gather_munmap_vmas().
    /// </summary>
    internal Errno GatherMunmap(Vma first, ulong start, ulong end, VmaMunmap vms)
    {
        vms.Start = start;
        vms.End = end;
        Vma vma = first;
        if (start > vma.Start)
        {
            if (end < vma.End && MapCount >= Config.MaxMapCount)
            {
                return Errno.ENOMEM;
            }

            if ((vma.Flags & VmFlags.Sealed) != 0)
            {
                return Errno.EPERM;
            }

            Errno err = SplitVmaNoMapCountCheck(vma, start, newBelow: true, out _);
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
                Errno err = SplitVmaNoMapCountCheck(next, end, newBelow: false, out _);
                if (err != Errno.None)
                {
                    vms.Vmas.Clear();
                    return err;
                }
            }

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

            if (IsExecMapping(f))
            {
                vms.ExecVm += pages;
            }
            else if (IsStackMapping(f))
            {
                vms.StackVm += pages;
            }
            else if (IsDataMapping(f))
            {
                vms.DataVm += pages;
            }

            next = next.NextVma;
        }

        vms.Next = next;
        return Errno.None;
    }

    /// <summary>Removes the gathered VMAs, their pages and their counters.
    /// Linux: mm/vma.c vms_complete_munmap_vmas().</summary>
    internal void CompleteMunmap(VmaMunmap vms)
    {
        bool shmemGone = false;
        foreach (Vma vma in vms.Vmas)
        {
            Pages.Clear(vma.Start >> PageConstants.PageShift, vma.End >> PageConstants.PageShift, HasRecency(vma));
            Tree.Remove(vma);
            vma.VmOps?.Close?.Invoke(vma);
            shmemGone |= vma.File is { IsShmem: true };
        }

        if (shmemGone)
        {
            foreach (Vma vma in vms.Vmas)
            {
                if (vma.File is { IsShmem: true } f)
                {
                    Manager.PutFile(f.Inode);
                }
            }
        }

        UpdateHiwaterVm();
        TotalVm -= vms.NrPages;
        LockedVm -= vms.LockedVm;
        ExecVm -= vms.ExecVm;
        StackVm -= vms.StackVm;
        DataVm -= vms.DataVm;
        if (vms.NrAccounted != 0)
        {
            VmUnacctMemory(vms.NrAccounted);
        }

        vms.Vmas.Clear();
    }

    /// <summary>
    /// munmap of [start, start + len). Linux: mm/vma.c do_vmi_munmap().
    /// </summary>
    internal Errno DoMunmap(ulong start, ulong len)
    {
        if (!PageConstants.IsPageAligned(start) || start > PageConstants.TaskSize || len > PageConstants.TaskSize - start)
        {
            return Errno.EINVAL;
        }

        ulong end = start + PageConstants.PageAlign(len);
        if (end == start)
        {
            return Errno.EINVAL;
        }

        return DoAlignedMunmap(start, end);
    }

    /// <summary>Unmaps a page-aligned, valid range. Linux: do_vmi_align_munmap().</summary>
    internal Errno DoAlignedMunmap(ulong start, ulong end)
    {
        Vma? vma = Tree.FindIntersection(start, end);
        if (vma is null)
        {
            return Errno.None;
        }

        VmaMunmap vms = _munmapScratch ?? new VmaMunmap();
        _munmapScratch = null;
        vms.Reset();
        Errno err = GatherMunmap(vma, start, end, vms);
        if (err == Errno.None)
        {
            CompleteMunmap(vms);
        }

        vms.Reset();
        _munmapScratch = vms;
        return err;
    }
}
