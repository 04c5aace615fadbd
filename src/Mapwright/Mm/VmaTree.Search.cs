using Mapwright.Diagnostics;

namespace Mapwright.Mm;

/// <summary>The unmapped-area searches of <see cref="VmaTree"/> and its invariant check.</summary>
internal sealed partial class VmaTree
{
    /// <summary>
    /// The highest free range of at least <paramref name="length"/> bytes inside [low, high), returned as
    /// the end of that free range clipped to <paramref name="high"/>; false if none.
    /// Linux: lib/maple_tree.c mas_empty_area_rev() as called by vma_iter_area_highest().
    /// </summary>
    public bool FindHighestGap(ulong low, ulong high, ulong length, out ulong gapEnd)
    {
        gapEnd = 0;
        if (high <= low || high - low < length)
        {
            return false;
        }

        // From the top down: the free range above the last VMA, then the free range that reaches across high (below
        // the first VMA at or above it), then the gaps below VMAs that start under high, which lie wholly below it.
        ulong lastEnd = Last?.End ?? 0;
        if (Fits(lastEnd, ulong.MaxValue, low, high, length))
        {
            gapEnd = high;
            return true;
        }

        if (AcrossHigh(high) is { } above && Fits(above.PrevVma?.End ?? 0, above.Start, low, high, length))
        {
            gapEnd = high;
            return true;
        }

        return SearchHighest(_root, _height, low, high, length, ref gapEnd);
    }

    /// <summary>The lowest free range of at least length inside [low, high); returns its clipped start.
    /// Linux: mas_empty_area() as called by vma_iter_area_lowest().</summary>
    public bool FindLowestGap(ulong low, ulong high, ulong length, out ulong gapStart)
    {
        gapStart = 0;
        if (high <= low || high - low < length)
        {
            return false;
        }

        // From the bottom up: the gaps below VMAs that start inside (low, high), then the free range that reaches
        // across high, then the free range above the last VMA.
        if (SearchLowest(_root, _height, low, high, length, ref gapStart))
        {
            return true;
        }

        if (AcrossHigh(high) is { } above && Fits(above.PrevVma?.End ?? 0, above.Start, low, high, length))
        {
            gapStart = Math.Max(above.PrevVma?.End ?? 0, low);
            return true;
        }

        ulong lastEnd = Last?.End ?? 0;
        if (Fits(lastEnd, ulong.MaxValue, low, high, length))
        {
            gapStart = Math.Max(lastEnd, low);
            return true;
        }

        return false;
    }

    /// <summary>Checks the tree's order, links, keys, gaps, fill and depth. Throws on a broken invariant.</summary>
    public void Validate()
    {
        int count = 0;
        Vma? prev = null;
        for (Vma? v = First; v is not null; v = v.NextVma)
        {
            Bug.On(v.PrevVma != prev, $"prev link of {v} is {v.PrevVma}, expected {prev}");
            Bug.On(prev is not null && prev.End > v.Start, $"{prev} overlaps {v}");
            prev = v;
            count++;
        }

        Bug.On(Last != prev, "last link");
        Bug.On(count != Count, $"list holds {count} VMAs, count says {Count}");
        Vma? expected = First;
        int seen = 0;
        ValidateNode(_root, _height, isRoot: true, ref expected, ref seen);
        Bug.On(seen != Count, $"tree holds {seen} VMAs, count says {Count}");
        Bug.On(expected is not null, $"tree lacks {expected}");
        foreach (Leaf spare in _spareLeaves)
        {
            Bug.On(spare.Count != 0 || ((ReadOnlySpan<Vma?>)spare.Vmas).IndexOfAnyExcept((Vma?)null) >= 0, "a spare leaf holds VMAs");
        }
    }

    private static bool Fits(ulong gapStart, ulong gapEnd, ulong low, ulong high, ulong length)
    {
        ulong s = Math.Max(gapStart, low);
        ulong e = Math.Min(gapEnd, high);
        return e > s && e - s >= length;
    }

    // The first VMA starting at or above high, when the free range below it reaches across high; null when high - 1
    // is mapped or no VMA lies above (then the range above the last VMA is the one across high).
    private Vma? AcrossHigh(ulong high)
    {
        Vma? vma = FindVma(high - 1);
        return vma is not null && vma.Start >= high ? vma : null;
    }

    // The highest gap below a VMA that starts under high (so the gap lies below high) and fits above low.
    private static bool SearchHighest(Node node, int level, ulong low, ulong high, ulong length, ref ulong gapEnd)
    {
        if (level == 0)
        {
            var leaf = (Leaf)node;
            for (int i = leaf.LastAtOrBelow(high - 1); i >= 0; i--)
            {
                ulong start = leaf.Starts[i];
                if (start <= low || start - low < length)
                {
                    return false;
                }

                if (leaf.Gaps[i] >= length && start - Math.Max(start - leaf.Gaps[i], low) >= length)
                {
                    gapEnd = start;
                    return true;
                }
            }

            return false;
        }

        var inner = (Inner)node;
        for (int c = inner.LastAtOrBelow(high - 1); c >= 0; c--)
        {
            // Every start in child c is below the next child's key: once that is too low, so is every gap here.
            if (c + 1 < inner.Count && (inner.Keys[c + 1] <= low || inner.Keys[c + 1] - low <= length))
            {
                return false;
            }

            if (inner.MaxGaps[c] >= length && SearchHighest(inner.Children[c]!, level - 1, low, high, length, ref gapEnd))
            {
                return true;
            }
        }

        return false;
    }

    // The lowest gap below a VMA that starts inside (low, high), clipped to low, that fits below high.
    private static bool SearchLowest(Node node, int level, ulong low, ulong high, ulong length, ref ulong gapStart)
    {
        if (level == 0)
        {
            var leaf = (Leaf)node;
            for (int i = leaf.LastAtOrBelow(low) + 1; i < leaf.Count; i++)
            {
                ulong start = leaf.Starts[i];
                if (start >= high)
                {
                    return false;
                }

                if (leaf.Gaps[i] >= length)
                {
                    ulong s = Math.Max(start - leaf.Gaps[i], low);
                    if (start - s >= length)
                    {
                        gapStart = s;
                        return true;
                    }
                }
            }

            return false;
        }

        var inner = (Inner)node;
        for (int c = Math.Max(inner.LastAtOrBelow(low), 0); c < inner.Count; c++)
        {
            if (inner.Keys[c] >= high)
            {
                return false;
            }

            if (inner.MaxGaps[c] >= length && SearchLowest(inner.Children[c]!, level - 1, low, high, length, ref gapStart))
            {
                return true;
            }
        }

        return false;
    }

    private static void ValidateNode(Node node, int level, bool isRoot, ref Vma? expected, ref int seen)
    {
        Bug.On(!isRoot && node.Count < MinFill, $"VMA tree node at level {level} holds {node.Count} entries");
        if (level == 0)
        {
            var leaf = (Leaf)node;
            for (int i = 0; i < leaf.Count; i++)
            {
                Vma? v = leaf.Vmas[i];
                Bug.On(v != expected, $"VMA tree holds {v} where the list has {expected}");
                Bug.On(leaf.Starts[i] != v!.Start || leaf.Ends[i] != v.End,
                    $"VMA tree has {leaf.Starts[i]:x}-{leaf.Ends[i]:x} for {v}");
                ulong gap = v.Start - (v.PrevVma?.End ?? 0);
                Bug.On(leaf.Gaps[i] != gap, $"gap below {v} is {leaf.Gaps[i]:x}, expected {gap:x}");
                expected = v.NextVma;
                seen++;
            }

            for (int i = leaf.Count; i < Fanout; i++)
            {
                Bug.On(leaf.Vmas[i] is not null, $"VMA tree leaf slot {i} holds a VMA past the count");
            }

            return;
        }

        var inner = (Inner)node;
        Bug.On(inner.Count < (isRoot ? 2 : MinFill), $"VMA tree inner node at level {level} holds {inner.Count}");
        for (int c = 0; c < inner.Count; c++)
        {
            Node child = inner.Children[c]!;
            Bug.On(inner.Keys[c] != LowestOf(child, level - 1), $"VMA tree key {inner.Keys[c]:x} at level {level}");
            Bug.On(inner.MaxGaps[c] != LargestGapOf(child, level - 1),
                $"VMA tree largest gap {inner.MaxGaps[c]:x} at level {level} slot {c}");
            ValidateNode(child, level - 1, isRoot: false, ref expected, ref seen);
        }

        for (int c = inner.Count; c < Fanout; c++)
        {
            Bug.On(inner.Children[c] is not null, $"VMA tree inner slot {c} holds a node past the count");
        }
    }

    private static ulong LowestOf(Node node, int level)
    {
        while (level > 0)
        {
            node = ((Inner)node).Children[0]!;
            level--;
        }

        return ((Leaf)node).Starts[0];
    }

    // Recomputed from the leaves, not from the stored largest gaps that are being checked.
    private static ulong LargestGapOf(Node node, int level)
    {
        if (level == 0)
        {
            return node.LargestGap();
        }

        var inner = (Inner)node;
        ulong max = 0;
        for (int c = 0; c < inner.Count; c++)
        {
            max = Math.Max(max, LargestGapOf(inner.Children[c]!, level - 1));
        }

        return max;
    }
}
