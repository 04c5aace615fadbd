using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;

namespace Mapwright.Mm;

/// <summary>The whole-structure check. Linux: mm/vma.c validate_mm().</summary>
internal static class MmValidate
{
    /// <summary>
    /// Checks ordering, non-overlap, alignment, the tree's own invariants and every cached counter, and throws
    /// <see cref="KernelBugException"/> on the first violation. Linux: mm/vma.c validate_mm().
    /// </summary>
    internal static void Validate(AddressSpace mm)
    {
        mm.Tree.Validate();
        ulong total = 0, locked = 0, data = 0, exec = 0, stack = 0;
        Vma? prev = null;
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            Bug.On(v.Start >= v.End, $"empty VMA {v}");
            Bug.On(!PageConstants.IsPageAligned(v.Start) || !PageConstants.IsPageAligned(v.End), $"unaligned VMA {v}");
            Bug.On(prev is not null && prev.End > v.Start, $"VMA {v} overlaps {prev}");
            Bug.On(v.End > PageConstants.TaskSize, $"VMA {v} beyond TASK_SIZE");
            ulong pages = v.Pages;
            total += pages;
            if ((v.Flags & VmFlags.Locked) != 0)
            {
                locked += pages;
            }

            if (AddressSpace.IsExecMapping(v.Flags))
            {
                exec += pages;
            }
            else if (AddressSpace.IsStackMapping(v.Flags))
            {
                stack += pages;
            }
            else if (AddressSpace.IsDataMapping(v.Flags))
            {
                data += pages;
            }

            prev = v;
        }

        Bug.On(total != mm.TotalVm, $"total_vm is {mm.TotalVm}, VMAs hold {total} pages");
        // locked_vm is not checked: Linux itself lets it drift (mremap MREMAP_DONTUNMAP of a locked VMA).
        _ = locked;
        Bug.On(data != mm.DataVm, $"data_vm is {mm.DataVm}, expected {data}");
        Bug.On(exec != mm.ExecVm, $"exec_vm is {mm.ExecVm}, expected {exec}");
        Bug.On(stack != mm.StackVm, $"stack_vm is {mm.StackVm}, expected {stack}");

        // Every page-table entry lies inside a VMA (munmap, mremap and exit take theirs away).
        var entries = new List<(ulong Vpn, Paging.Pte Pte)>();
        mm.Pages.CollectPresent(0, ulong.MaxValue - 1, entries);
        foreach ((ulong vpn, Paging.Pte _) in entries)
        {
            ulong addr = vpn << PageConstants.PageShift;
            Bug.On(mm.Tree.Lookup(addr) is null, $"a page-table entry at {addr:x} lies outside every VMA");
        }

        mm.Manager.ValidateFrames();
    }
}
