using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// The VMA operations of mm/vma.c: merging a new or changed range with its neighbours, splitting, changing a
/// range's flags (this file); gathering and removing the VMAs of a range (<c>VmaOps.Munmap.cs</c>); mapping a new
/// region and growing the break (<c>VmaOps.MmapRegion.cs</c>).
/// Linux: mm/vma.c.
/// </summary>
internal static partial class VmaOps
{
    /// <summary>Flags equal but for VM_SOFTDIRTY, same file. Linux: mm/vma.c is_mergeable_vma().</summary>
    private static bool IsMergeableVma(Vma vma, VmFlags flags, MappedFile? file) =>
        ((vma.Flags ^ flags) & ~VmFlags.Sticky) == 0 && ReferenceEquals(vma.File, file);

    /// <summary>Two anon_vmas a merge of prev and next could join: not both present and different.
    /// Linux: mm/vma.c can_vma_merge_right().</summary>
    private static bool AnonCompatible(AnonVma? a, AnonVma? b) => a is null || b is null || ReferenceEquals(a, b);

    /// <summary>Linux: mm/vma.c vma_is_fork_child().</summary>
    private static bool IsForkChild(Vma? vma) => vma is not null && vma.AnonVma is not null && vma.ForkedAnon;

    /// <summary>
    /// Can the range (with anon_vma <paramref name="srcAnon"/>, taken from <paramref name="src"/> when an existing
    /// range is modified, or from <paramref name="copiedFrom"/> when mremap copies a VMA) merge into
    /// <paramref name="tgt"/> as far as anonymous memory goes? A VMA forked from a parent with anonymous pages
    /// neither gives its anon_vma to an unfaulted neighbour nor takes one.
    /// Linux: mm/vma.c is_mergeable_anon_vma() (6.16+, with the 6.18 copied_from check).
    /// </summary>
    private static bool IsMergeableAnonVma(Vma? src, AnonVma? srcAnon, Vma tgt, Vma? copiedFrom)
    {
        AnonVma? tgtAnon = tgt.AnonVma;
        if (tgtAnon is null && srcAnon is not null)
        {
            // Case 1: the target would take the source's anon_vma.
            return !IsForkChild(src) && !IsForkChild(copiedFrom);
        }

        if (tgtAnon is not null && srcAnon is null)
        {
            // Case 2: the range would use the target's anon_vma.
            return !IsForkChild(tgt);
        }

        // Case 3: already shared (or neither has one).
        return ReferenceEquals(srcAnon, tgtAnon);
    }

    /// <summary>Linux: mm/vma.c can_merge_remove_vma(): a VMA with vm_ops->close is never deleted by a merge.</summary>
    private static bool CanMergeRemove(Vma vma) => vma.VmOps?.Close is null;

    /// <summary>Linux: can_vma_merge_after(): prev ends where the range starts, with contiguous pgoff.</summary>
    private static bool CanMergeAfter(Vma prev, VmFlags flags, MappedFile? file, Vma? src, AnonVma? anon, Vma? copiedFrom, ulong pgoff) =>
        IsMergeableVma(prev, flags, file) && IsMergeableAnonVma(src, anon, prev, copiedFrom) && prev.PgOff + prev.Pages == pgoff;

    /// <summary>Linux: can_vma_merge_before(): next starts where the range ends, with contiguous pgoff.</summary>
    private static bool CanMergeBefore(Vma next, VmFlags flags, MappedFile? file, Vma? src, AnonVma? anon, Vma? copiedFrom, ulong pgoff, ulong pglen) =>
        IsMergeableVma(next, flags, file) && IsMergeableAnonVma(src, anon, next, copiedFrom) && next.PgOff == pgoff + pglen;

    /// <summary>
    /// Tries to merge the new range of <paramref name="vmg"/> into prev and/or next. Returns the VMA that now covers
    /// the range, or null when no merge is possible (or, with <see cref="VmaMergeState.State"/>
    /// <see cref="VmaMergeResult.ErrorNoMem"/>, when it failed).
    /// Linux: mm/vma.c vma_merge_new_range().
    /// </summary>
    internal static Vma? MergeNewRange(ref VmaMergeState vmg)
    {
        AddressSpace mm = vmg.Mm;
        Vma? prev = vmg.Prev;
        Vma? next = vmg.Next;
        ulong start = vmg.Start;
        ulong end = vmg.End;
        ulong pgoff = vmg.PgOff;
        VmFlags flags = vmg.Flags;
        MappedFile? file = vmg.File;
        AnonVma? anon = vmg.AnonVma;
        bool justExpand = vmg.JustExpand;
        Vma? copiedFrom = vmg.CopiedFrom;
        vmg.State = VmaMergeResult.NoMerge;
        if ((flags & VmFlags.Special) != 0 || (prev is null && next is null))
        {
            return null;
        }

        ulong pglen = (end - start) >> PageConstants.PageShift;
        bool canLeft = prev is not null && prev.End == start && CanMergeAfter(prev, flags, file, null, anon, copiedFrom, pgoff);
        bool canRight = !justExpand && next is not null && end == next.Start
            && CanMergeBefore(next, flags, file, null, anon, copiedFrom, pgoff, pglen)
            && (!canLeft || AnonCompatible(prev!.AnonVma, next.AnonVma));
        if (!canLeft && !canRight)
        {
            return null;
        }

        if (canLeft && canRight && !CanMergeRemove(next!))
        {
            canRight = false;
        }

        if (mm.Inject("merge_prealloc"))
        {
            vmg.State = VmaMergeResult.ErrorNoMem;
            return null;
        }

        if (canLeft)
        {
            ulong newEnd = end;
            if (canRight)
            {
                newEnd = next!.End;
                prev!.AnonVma ??= next.AnonVma;
                prev.Flags |= next.Flags & VmFlags.Sticky;
                RemoveVmaFromTree(mm, next);
            }

            prev!.AnonVma ??= anon;
            mm.Tree.SetRange(prev, prev.Start, newEnd);
            mm.Merges++;
            vmg.State = VmaMergeResult.Success;
            return prev;
        }

        next!.AnonVma ??= anon;
        next.PgOff = pgoff;
        mm.Tree.SetRange(next, start, next.End);
        mm.Merges++;
        vmg.State = VmaMergeResult.Success;
        return next;
    }

    /// <summary>
    /// Tries to merge [start, end) of the middle VMA of <paramref name="vmg"/>, about to get its flags, with its
    /// neighbours. Returns the merged VMA, or null when no merge applies (with <see cref="VmaMergeState.State"/>
    /// <see cref="VmaMergeResult.ErrorNoMem"/> when the merge failed for lack of memory).
    /// Linux: mm/vma.c vma_merge_existing_range().
    /// </summary>
    internal static Vma? MergeExistingRange(ref VmaMergeState vmg)
    {
        AddressSpace mm = vmg.Mm;
        Vma? prev = vmg.Prev;
        Vma middle = vmg.Middle!;
        ulong start = vmg.Start;
        ulong end = vmg.End;
        VmFlags flags = vmg.Flags;
        vmg.State = VmaMergeResult.NoMerge;
        bool leftSide = start == middle.Start;
        bool rightSide = end == middle.End;
        if ((flags & VmFlags.Special) != 0 || (!leftSide && !rightSide))
        {
            return null;
        }

        ulong pgoff = middle.PgOff + ((start - middle.Start) >> PageConstants.PageShift);
        ulong pglen = (end - start) >> PageConstants.PageShift;
        MappedFile? file = middle.File;
        AnonVma? anon = middle.AnonVma;

        bool mergeLeft = leftSide && prev is not null && prev != middle && prev.End == start
            && CanMergeAfter(prev, flags, file, middle, anon, null, pgoff);
        Vma? next = rightSide ? middle.NextVma : null;
        bool mergeRight = next is not null && end == next.Start && CanMergeBefore(next, flags, file, middle, anon, null, pgoff, pglen)
            && (!mergeLeft || AnonCompatible(prev!.AnonVma, next.AnonVma));
        if (!mergeLeft && !mergeRight)
        {
            return null;
        }

        bool removeMiddle = leftSide && rightSide;
        if (removeMiddle && !CanMergeRemove(middle))
        {
            return null;
        }

        bool mergeBoth = mergeLeft && mergeRight;
        if (mergeBoth && !CanMergeRemove(next!))
        {
            mergeRight = false;
            mergeBoth = false;
        }

        if (mm.Inject("merge_prealloc"))
        {
            vmg.State = VmaMergeResult.ErrorNoMem;
            return null;
        }

        if (mergeBoth)
        {
            //  |<-------------------->|
            //  |-------********-------|
            //    prev   middle   next
            //   extend  delete  delete
            prev!.AnonVma ??= next!.AnonVma ?? middle.AnonVma;
            prev.Flags |= (next!.Flags | middle.Flags) & VmFlags.Sticky;
            ulong newEnd = next!.End;
            RemoveVmaFromTree(mm, middle);
            RemoveVmaFromTree(mm, next);
            mm.Tree.SetRange(prev, prev.Start, newEnd);
            mm.Merges++;
            vmg.State = VmaMergeResult.Success;
            return prev;
        }

        if (mergeLeft)
        {
            //  |<------------>|      OR  |<----------------->|
            //  |-------*************     |-------*************
            //    prev     middle           prev     middle
            prev!.AnonVma ??= middle.AnonVma;
            prev.Flags |= middle.Flags & VmFlags.Sticky;
            if (removeMiddle)
            {
                RemoveVmaFromTree(mm, middle);
            }
            else
            {
                middle.PgOff += pglen;
                mm.Tree.SetRange(middle, end, middle.End);
            }

            mm.Tree.SetRange(prev, prev.Start, end);
            mm.Merges++;
            vmg.State = VmaMergeResult.Success;
            return prev;
        }

        //      |<------------->| OR |<----------------->|
        //  *************-------|    *************-------|
        //     middle     next          middle     next
        next!.AnonVma ??= middle.AnonVma;
        next.Flags |= middle.Flags & VmFlags.Sticky;
        if (removeMiddle)
        {
            RemoveVmaFromTree(mm, middle);
        }
        else
        {
            mm.Tree.SetRange(middle, middle.Start, start);
        }

        next.PgOff -= pglen;
        mm.Tree.SetRange(next, start, next.End);
        mm.Merges++;
        vmg.State = VmaMergeResult.Success;
        return next;
    }

    /// <summary>
    /// Prepares [start, end) of <paramref name="vma"/> to take new flags: merges it with a neighbour or splits it
    /// off. The caller then sets the flags on the returned VMA.
    /// Linux: mm/vma.c vma_modify() / vma_modify_flags().
    /// </summary>
    internal static Errno ModifyFlags(AddressSpace mm, Vma? prev, Vma vma, ulong start, ulong end, VmFlags newFlags, out Vma result)
    {
        result = vma;
        var vmg = VmaMergeState.ForExistingRange(mm, prev, vma, start, end, newFlags);
        Vma? merged = MergeExistingRange(ref vmg);
        if (merged is not null)
        {
            result = merged;
            return Errno.None;
        }

        if (vmg.State == VmaMergeResult.ErrorNoMem)
        {
            return Errno.ENOMEM;
        }

        if (vma.Start < start)
        {
            Errno err = SplitVma(mm, vma, start, newBelow: true, out _);
            if (err != Errno.None)
            {
                return err;
            }
        }

        if (vma.End > end)
        {
            Errno err = SplitVma(mm, vma, end, newBelow: false, out _);
            if (err != Errno.None)
            {
                return err;
            }
        }

        result = vma;
        return Errno.None;
    }

    /// <summary>Splits with the max_map_count check. Linux: mm/vma.c split_vma().</summary>
    internal static Errno SplitVma(AddressSpace mm, Vma vma, ulong addr, bool newBelow, out Vma created)
    {
        created = vma;
        if (mm.MapCount >= mm.Config.MaxMapCount)
        {
            return Errno.ENOMEM;
        }

        return SplitVmaNoMapCountCheck(mm, vma, addr, newBelow, out created);
    }

    /// <summary>
    /// Splits <paramref name="vma"/> at <paramref name="addr"/>. With newBelow the new VMA is the lower part
    /// [Start, addr) and <paramref name="vma"/> keeps [addr, End); otherwise the new VMA is the upper part.
    /// Both halves share the anon_vma, so they may merge again later.
    /// Linux: mm/vma.c __split_vma().
    /// </summary>
    internal static Errno SplitVmaNoMapCountCheck(AddressSpace mm, Vma vma, ulong addr, bool newBelow, out Vma created)
    {
        created = vma;
        Diagnostics.Bug.On(addr <= vma.Start || addr >= vma.End || !PageConstants.IsPageAligned(addr), $"split of {vma} at {addr:x}");
        if (vma.VmOps?.MaySplit is { } maySplit)
        {
            Errno e = maySplit(addr);
            if (e != Errno.None)
            {
                return e;
            }
        }

        if (mm.Inject("split_vma"))
        {
            return Errno.ENOMEM;
        }

        ulong delta = (addr - vma.Start) >> PageConstants.PageShift;
        Vma n;
        if (newBelow)
        {
            n = new Vma(vma.Start, addr, vma.PgOff, vma.Flags, vma.File);
            CopyAttributes(vma, n);
            vma.PgOff += delta;
            mm.Tree.SetRange(vma, addr, vma.End);
        }
        else
        {
            n = new Vma(addr, vma.End, vma.PgOff + delta, vma.Flags, vma.File);
            CopyAttributes(vma, n);
            mm.Tree.SetRange(vma, vma.Start, addr);
        }

        mm.Tree.Insert(n);
        n.VmOps?.Open?.Invoke(n);

        // Both halves are write-locked after the new one's open hook ran, so may_split and open see the VMA
        // unlocked unless an earlier step of the same call locked it. Linux: __split_vma() vma_start_write()
        // of vma and new after vm_ops->open. (Unit tests that split a layout they built without a syscall hold
        // no mmap lock; every syscall does.)
        if (mm.MmapLock.IsWriteLocked)
        {
            vma.StartWrite();
            n.StartWrite();
        }

        created = n;
        mm.Splits++;
        return Errno.None;
    }

    private static void CopyAttributes(Vma from, Vma to)
    {
        to.VmOps = from.VmOps;
        to.PrivateData = from.PrivateData;
        to.AnonVma = from.AnonVma;
        to.ForkedAnon = from.ForkedAnon;
    }

    /// <summary>Unlinks a VMA that a merge or unmap deletes.</summary>
    private static void RemoveVmaFromTree(AddressSpace mm, Vma vma) => mm.Tree.Remove(vma);
}
