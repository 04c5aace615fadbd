using Mapwright.Contract;
using Mapwright.Diagnostics;

namespace Mapwright.Mm;

/// <summary>
/// The ordered set of an address space's VMAs: an AVL tree keyed by <see cref="Vma.Start"/>, augmented
/// with the largest free gap in each subtree so that the unmapped-area search is O(log n), and threaded
/// with prev/next links so that neighbours are O(1).
/// Linux: the maple tree mm->mm_mt (lib/maple_tree.c) as used by mm/vma.c; mas_empty_area_rev().
/// </summary>
internal sealed class VmaTree
{
    private Vma? _root;

    /// <summary>The VMA the last lookup found holding its address: a lookup inside it again (a fault, a peek, the
    /// calls of one mapping) answers without a walk. A VMA holding the address is the answer whatever changed
    /// since, as long as it is still in the tree: <see cref="Remove"/> forgets it. Linux: the per-thread
    /// vmacache (mm/vmacache.c, removed in 6.1 when the maple tree made walks shallow).</summary>
    private Vma? _lastFound;

    /// <summary>The free range the last lookup that missed every VMA fell in, known by the VMA above it
    /// (<see cref="_gapNext"/>, null for the range above the last VMA) while <see cref="_gapKnown"/>: the calls of one
    /// mapping ask about the same free range several times (the MAP_FIXED_NOREPLACE check, then the new range's
    /// overlap and neighbours). The range's bounds are read from the links at each use, so an insert or a resize
    /// never makes it wrong; only <see cref="Remove"/> of the VMA above it forgets it.</summary>
    private Vma? _gapNext;

    private bool _gapKnown;

    public VmaTree(AddressSpace? owner = null)
    {
        Owner = owner;
    }

    /// <summary>The address space whose VMAs these are (set on each inserted VMA for lock queries).</summary>
    public AddressSpace? Owner { get; }

    /// <summary>Number of VMAs. Linux: mm->map_count.</summary>
    public int Count { get; private set; }

    public Vma? First { get; private set; }

    public Vma? Last { get; private set; }

    /// <summary>The first VMA with End &gt; addr, or null. Linux: find_vma().</summary>
    public Vma? FindVma(ulong addr)
    {
        if (_lastFound is { } last && addr - last.Start < last.End - last.Start)
        {
            return last;
        }

        if (_gapKnown && InKnownGap(addr))
        {
            return _gapNext;
        }

        Vma? node = _root;
        Vma? best = null;
        while (node is not null)
        {
            if (addr < node.End)
            {
                best = node;
                if (addr >= node.Start)
                {
                    _lastFound = node;
                    return node;
                }

                node = node.Left;
            }
            else
            {
                node = node.Right;
            }
        }

        _gapNext = best;
        _gapKnown = true;
        return best;
    }

    /// <summary>True if addr lies in the free range below <see cref="_gapNext"/> (above the last VMA if null).</summary>
    private bool InKnownGap(ulong addr)
    {
        Vma? next = _gapNext;
        Vma? prev = next is null ? Last : next.PrevVma;
        return (prev is null || addr >= prev.End) && (next is null || addr < next.Start);
    }

    /// <summary>The VMA containing addr, or null. Linux: vma_lookup().</summary>
    public Vma? Lookup(ulong addr)
    {
        Vma? vma = FindVma(addr);
        return vma is not null && vma.Start <= addr ? vma : null;
    }

    /// <summary>The first VMA intersecting [start, end), or null. Linux: find_vma_intersection().</summary>
    public Vma? FindIntersection(ulong start, ulong end)
    {
        Vma? vma = FindVma(start);
        return vma is not null && vma.Start < end ? vma : null;
    }

    /// <summary>The last VMA with Start &lt; addr (the one before the gap or VMA at addr). Linux: vma_prev() from addr.</summary>
    public Vma? FindPrev(ulong addr)
    {
        if (_gapKnown && InKnownGap(addr))
        {
            return _gapNext is null ? Last : _gapNext.PrevVma;
        }

        Vma? node = _root;
        Vma? best = null;
        while (node is not null)
        {
            if (node.Start < addr)
            {
                best = node;
                node = node.Right;
            }
            else
            {
                node = node.Left;
            }
        }

        return best;
    }

    /// <summary>Inserts a VMA that overlaps no other.</summary>
    public void Insert(Vma vma)
    {
        Bug.On(vma.Start >= vma.End, $"inserting empty VMA {vma}");
        vma.Mm ??= Owner;
        Owner?.NoteChanged(vma.Start, vma.End);
        vma.Left = vma.Right = vma.Parent = null;
        vma.Height = 1;
        if (_root is null)
        {
            _root = vma;
            vma.PrevVma = vma.NextVma = null;
            First = Last = vma;
        }
        else
        {
            Vma node = _root;
            while (true)
            {
                if (vma.Start < node.Start)
                {
                    if (node.Left is null)
                    {
                        node.Left = vma;
                        break;
                    }

                    node = node.Left;
                }
                else
                {
                    if (node.Right is null)
                    {
                        node.Right = vma;
                        break;
                    }

                    node = node.Right;
                }
            }

            vma.Parent = node;
            Vma? prev = vma.Start < node.Start ? node.PrevVma : node;
            Vma? next = prev is null ? First : prev.NextVma;
            vma.PrevVma = prev;
            vma.NextVma = next;
            if (prev is null)
            {
                First = vma;
            }
            else
            {
                prev.NextVma = vma;
            }

            if (next is null)
            {
                Last = vma;
            }
            else
            {
                next.PrevVma = vma;
            }

            Bug.On(prev is not null && prev.End > vma.Start, $"VMA {vma} overlaps {prev}");
            Bug.On(next is not null && next.Start < vma.End, $"VMA {vma} overlaps {next}");
        }

        Count++;
        vma.GapBefore = vma.Start - (vma.PrevVma?.End ?? 0);
        vma.SubtreeMaxGap = vma.GapBefore;
        RebalanceFrom(vma.Parent);
        if (vma.NextVma is { } n)
        {
            n.GapBefore = n.Start - vma.End;
            UpdateAugmentUp(n);
        }
    }

    /// <summary>Removes a VMA.</summary>
    public void Remove(Vma vma)
    {
        if (ReferenceEquals(_lastFound, vma))
        {
            _lastFound = null;
        }

        if (_gapKnown && ReferenceEquals(_gapNext, vma))
        {
            _gapKnown = false;
            _gapNext = null;
        }

        Owner?.NoteChanged(vma.Start, vma.End);
        Vma? prev = vma.PrevVma;
        Vma? next = vma.NextVma;
        Vma? rebalanceFrom;
        if (vma.Left is not null && vma.Right is not null)
        {
            // Replace vma by its in-order successor (next), which has no left child.
            Vma succ = next!;
            Vma? succParent = succ.Parent;
            Vma? succRight = succ.Right;
            if (succParent != vma)
            {
                ReplaceChild(succParent!, succ, succRight);
                if (succRight is not null)
                {
                    succRight.Parent = succParent;
                }

                succ.Right = vma.Right;
                succ.Right.Parent = succ;
                rebalanceFrom = succParent;
            }
            else
            {
                rebalanceFrom = succ;
            }

            succ.Left = vma.Left;
            succ.Left.Parent = succ;
            ReplaceNode(vma, succ);

            // The successor takes the removed node's place and, until the walk up recomputes them, its height and
            // largest gap: the walk compares against what the ancestors were computed from.
            succ.Height = vma.Height;
            succ.SubtreeMaxGap = vma.SubtreeMaxGap;
        }
        else
        {
            Vma? child = vma.Left ?? vma.Right;
            ReplaceNode(vma, child);
            rebalanceFrom = vma.Parent;
        }

        if (prev is null)
        {
            First = next;
        }
        else
        {
            prev.NextVma = next;
        }

        if (next is null)
        {
            Last = prev;
        }
        else
        {
            next.PrevVma = prev;
            next.GapBefore = next.Start - (prev?.End ?? 0);
        }

        Count--;
        vma.Left = vma.Right = vma.Parent = vma.PrevVma = vma.NextVma = null;
        RebalanceFrom(rebalanceFrom);
        if (next is not null)
        {
            UpdateAugmentUp(next);
        }
    }

    /// <summary>Changes a VMA's range in place; the caller guarantees the order and non-overlap are kept.
    /// Linux: vma_set_range() under vma_iter_store().</summary>
    public void SetRange(Vma vma, ulong start, ulong end)
    {
        Bug.On(start >= end, $"empty range {start:x}-{end:x} for {vma}");
        Bug.On(vma.PrevVma is not null && vma.PrevVma.End > start, $"new range {start:x}-{end:x} overlaps {vma.PrevVma}");
        Bug.On(vma.NextVma is not null && vma.NextVma.Start < end, $"new range {start:x}-{end:x} overlaps {vma.NextVma}");
        Owner?.NoteChanged(Math.Min(start, vma.Start), Math.Max(end, vma.End));
        vma.Start = start;
        vma.End = end;
        vma.GapBefore = start - (vma.PrevVma?.End ?? 0);
        UpdateAugmentUp(vma);
        if (vma.NextVma is { } n)
        {
            n.GapBefore = n.Start - end;
            UpdateAugmentUp(n);
        }
    }

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

        // The free range above the last VMA.
        ulong lastEnd = Last?.End ?? 0;
        if (Fits(lastEnd, ulong.MaxValue, low, high, length))
        {
            gapEnd = high;
            return true;
        }

        return SearchHighest(_root, low, high, length, ref gapEnd);
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

        if (SearchLowest(_root, low, high, length, ref gapStart))
        {
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

    private static bool Fits(ulong gapStart, ulong gapEnd, ulong low, ulong high, ulong length)
    {
        ulong s = Math.Max(gapStart, low);
        ulong e = Math.Min(gapEnd, high);
        return e > s && e - s >= length;
    }

    private static bool SearchHighest(Vma? node, ulong low, ulong high, ulong length, ref ulong gapEnd)
    {
        while (node is not null)
        {
            if (node.SubtreeMaxGap < length)
            {
                return false;
            }

            // Right subtree first: its gaps all start at or above node.End.
            if (node.Right is not null && node.End < high && high - node.End >= length
                && SearchHighest(node.Right, low, high, length, ref gapEnd))
            {
                return true;
            }

            ulong gs = node.Start - node.GapBefore;
            if (node.GapBefore >= length && Fits(gs, node.Start, low, high, length))
            {
                gapEnd = Math.Min(node.Start, high);
                return true;
            }

            // Left subtree gaps all end at or below node.Start - GapBefore.
            if (gs <= low || gs - low < length)
            {
                return false;
            }

            node = node.Left;
        }

        return false;
    }

    private static bool SearchLowest(Vma? node, ulong low, ulong high, ulong length, ref ulong gapStart)
    {
        while (node is not null)
        {
            if (node.SubtreeMaxGap < length)
            {
                return false;
            }

            ulong gs = node.Start - node.GapBefore;
            if (node.Left is not null && gs > low && gs - low >= length
                && SearchLowest(node.Left, low, high, length, ref gapStart))
            {
                return true;
            }

            if (node.GapBefore >= length && Fits(gs, node.Start, low, high, length))
            {
                gapStart = Math.Max(gs, low);
                return true;
            }

            if (node.End >= high || high - node.End < length)
            {
                return false;
            }

            node = node.Right;
        }

        return false;
    }

    private void ReplaceNode(Vma old, Vma? replacement)
    {
        Vma? parent = old.Parent;
        if (parent is null)
        {
            _root = replacement;
        }
        else
        {
            ReplaceChild(parent, old, replacement);
        }

        if (replacement is not null)
        {
            replacement.Parent = parent;
        }
    }

    private static void ReplaceChild(Vma parent, Vma old, Vma? replacement)
    {
        if (parent.Left == old)
        {
            parent.Left = replacement;
        }
        else
        {
            parent.Right = replacement;
        }
    }

    private static int H(Vma? n) => n?.Height ?? 0;

    private static void Update(Vma n)
    {
        n.Height = 1 + Math.Max(H(n.Left), H(n.Right));
        ulong g = n.GapBefore;
        if (n.Left is not null && n.Left.SubtreeMaxGap > g)
        {
            g = n.Left.SubtreeMaxGap;
        }

        if (n.Right is not null && n.Right.SubtreeMaxGap > g)
        {
            g = n.Right.SubtreeMaxGap;
        }

        n.SubtreeMaxGap = g;
    }

    /// <summary>Refreshes the augmentation from <paramref name="n"/> up after its own gap changed, stopping at the
    /// first node whose height and largest gap come out as they were: every node above it was computed from the
    /// same values.</summary>
    private static void UpdateAugmentUp(Vma? n)
    {
        while (n is not null)
        {
            int height = n.Height;
            ulong maxGap = n.SubtreeMaxGap;
            Update(n);
            if (n.Height == height && n.SubtreeMaxGap == maxGap)
            {
                return;
            }

            n = n.Parent;
        }
    }

    private void RebalanceFrom(Vma? n)
    {
        while (n is not null)
        {
            // A balanced node whose height and largest gap come out as they were leaves every ancestor as it was:
            // the walk ends there, not at the root (each step up reads the sibling subtree, a cache miss deep in a
            // large tree).
            int height = n.Height;
            ulong maxGap = n.SubtreeMaxGap;
            Update(n);
            int balance = H(n.Left) - H(n.Right);
            if (balance > 1)
            {
                if (H(n.Left!.Left) < H(n.Left.Right))
                {
                    RotateLeft(n.Left);
                }

                n = RotateRight(n);
            }
            else if (balance < -1)
            {
                if (H(n.Right!.Right) < H(n.Right.Left))
                {
                    RotateRight(n.Right);
                }

                n = RotateLeft(n);
            }
            else if (n.Height == height && n.SubtreeMaxGap == maxGap)
            {
                return;
            }

            n = n.Parent;
        }
    }

    private Vma RotateLeft(Vma x)
    {
        Vma y = x.Right!;
        x.Right = y.Left;
        if (y.Left is not null)
        {
            y.Left.Parent = x;
        }

        ReplaceNode(x, y);
        y.Left = x;
        x.Parent = y;
        Update(x);
        Update(y);
        return y;
    }

    private Vma RotateRight(Vma x)
    {
        Vma y = x.Left!;
        x.Left = y.Right;
        if (y.Right is not null)
        {
            y.Right.Parent = x;
        }

        ReplaceNode(x, y);
        y.Right = x;
        x.Parent = y;
        Update(x);
        Update(y);
        return y;
    }

    /// <summary>Checks the tree's structure, order, links and augmentation. Throws on a broken invariant.</summary>
    public void Validate()
    {
        int count = 0;
        Vma? prev = null;
        for (Vma? v = First; v is not null; v = v.NextVma)
        {
            Bug.On(v.PrevVma != prev, $"prev link of {v} is {v.PrevVma}, expected {prev}");
            Bug.On(v.GapBefore != v.Start - (prev?.End ?? 0), $"gap of {v} is {v.GapBefore:x}");
            prev = v;
            count++;
        }

        Bug.On(Last != prev, "last link");
        Bug.On(count != Count, $"list holds {count} VMAs, count says {Count}");
        int treeCount = 0;
        ValidateNode(_root, null, ref treeCount);
        Bug.On(treeCount != Count, $"tree holds {treeCount} VMAs, count says {Count}");
        Bug.On(_lastFound is { } last && !Holds(last), $"the lookup cache holds {_lastFound}, which is not in the tree");
        Bug.On(_gapKnown && _gapNext is { } above && !Holds(above), $"the free-range cache is bounded by {_gapNext}, which is not in the tree");
    }

    /// <summary>True if this very VMA is a node of the tree (a walk by its start).</summary>
    private bool Holds(Vma vma)
    {
        Vma? node = _root;
        while (node is not null && !ReferenceEquals(node, vma))
        {
            node = vma.Start < node.Start ? node.Left : node.Right;
        }

        return node is not null;
    }

    private static (int Height, ulong MaxGap) ValidateNode(Vma? n, Vma? parent, ref int count)
    {
        if (n is null)
        {
            return (0, 0);
        }

        count++;
        Bug.On(n.Parent != parent, $"parent link of {n}");
        var l = ValidateNode(n.Left, n, ref count);
        var r = ValidateNode(n.Right, n, ref count);
        Bug.On(n.Left is not null && n.Left.Start >= n.Start, "tree order (left)");
        Bug.On(n.Right is not null && n.Right.Start <= n.Start, "tree order (right)");
        int h = 1 + Math.Max(l.Height, r.Height);
        Bug.On(h != n.Height, $"height of {n} is {n.Height}, expected {h}");
        Bug.On(Math.Abs(l.Height - r.Height) > 1, $"AVL balance at {n}");
        ulong g = Math.Max(n.GapBefore, Math.Max(l.MaxGap, r.MaxGap));
        Bug.On(g != n.SubtreeMaxGap, $"subtree gap of {n} is {n.SubtreeMaxGap:x}, expected {g:x}");
        return (h, g);
    }
}
