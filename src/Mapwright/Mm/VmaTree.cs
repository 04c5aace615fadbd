using System.Runtime.CompilerServices;
using Mapwright.Diagnostics;

namespace Mapwright.Mm;

/// <summary>
/// The ordered set of an address space's VMAs: a B+tree keyed by <see cref="Vma.Start"/> whose nodes hold up to
/// <see cref="Fanout"/> entries side by side, threaded with prev/next links so that neighbours are O(1).
/// A leaf holds each VMA's start, end and the free gap below it; an inner node holds, per child, the lowest start
/// and the largest gap under it, so that lookups read three or four nodes (the upper ones shared by every lookup,
/// hence in cache) and the unmapped-area search skips every subtree without a gap that fits.
/// Every node but the root holds at least <see cref="MinFill"/> entries; an inner root at least two.
/// Protected by: the owning address space's mmap lock (write to change, read to look up); a change walks with this
/// instance's path arrays, so only one writer at a time.
/// Linux: the maple tree mm->mm_mt (lib/maple_tree.c) as used by mm/vma.c: mas_walk(), mas_empty_area_rev().
/// </summary>
internal sealed partial class VmaTree
{
    /// <summary>Entries per node at most.</summary>
    public const int Fanout = 32;

    /// <summary>Entries per node at least, but in the root.</summary>
    public const int MinFill = Fanout / 4;

    // Height bound: with at least MinFill children per inner node, 16 levels hold more VMAs than an address space can.
    private const int MaxHeight = 16;

    private const int SpareLeaves = 64;

    // The walk of the last change: at each level (0 just above the leaves, _height - 1 the root) the inner node
    // passed and the slot taken.
    private readonly Inner[] _pathNode = new Inner[MaxHeight];
    private readonly int[] _pathSlot = new int[MaxHeight];

    // Leaves emptied by merges, kept for the next split: under churn, splits and merges balance and the tree
    // allocates no node. Bounded by SpareLeaves.
    private readonly Stack<Leaf> _spareLeaves = new();
    private Node _root = new Leaf();

    // Levels of inner nodes above the leaves: 0 while the root is a leaf.
    private int _height;

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
        Leaf leaf = LeafFor(addr);
        int i = leaf.LastAtOrBelow(addr);
        if (i < 0)
        {
            // Only the leftmost leaf has no start at or below addr: addr lies before every VMA.
            return leaf.Count > 0 ? leaf.Vmas[0] : null;
        }

        if (leaf.Ends[i] > addr)
        {
            return leaf.Vmas[i];
        }

        return i + 1 < leaf.Count ? leaf.Vmas[i + 1] : leaf.Vmas[i]!.NextVma;
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
        if (addr == 0)
        {
            return null;
        }

        Leaf leaf = LeafFor(addr - 1);
        int i = leaf.LastAtOrBelow(addr - 1);
        return i >= 0 ? leaf.Vmas[i] : null;
    }

    /// <summary>Inserts a VMA that overlaps no other.</summary>
    public void Insert(Vma vma)
    {
        Bug.On(vma.Start >= vma.End, $"inserting empty VMA {vma}");
        vma.Mm ??= Owner;
        Owner?.NoteChanged(vma.Start, vma.End);
        Leaf leaf = DescendWithPath(vma.Start);
        int slot = leaf.LastAtOrBelow(vma.Start) + 1;

        // Only the leftmost leaf is entered with no start at or below the key, so slot 0 means no VMA below.
        Vma? prev = slot > 0 ? leaf.Vmas[slot - 1] : null;
        Vma? next = prev is null ? First : prev.NextVma;
        Bug.On(prev is not null && prev.End > vma.Start, $"VMA {vma} overlaps {prev}");
        Bug.On(next is not null && next.Start < vma.End, $"VMA {vma} overlaps {next}");
        if (leaf.Count == Fanout)
        {
            SplitLeaf(leaf);

            // The split changed the nodes above: walk down again for the path of the insertion.
            leaf = DescendWithPath(vma.Start);
            slot = leaf.LastAtOrBelow(vma.Start) + 1;
        }

        leaf.InsertAt(slot, vma.Start, vma.End, vma.Start - (prev?.End ?? 0), vma);
        if (slot == 0)
        {
            LowestChanged(vma.Start);
        }

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

        Count++;
        SetGapOfNext(leaf, slot, next, vma.End);
    }

    /// <summary>Removes a VMA.</summary>
    public void Remove(Vma vma)
    {
        Owner?.NoteChanged(vma.Start, vma.End);
        Vma? prev = vma.PrevVma;
        Vma? next = vma.NextVma;
        Leaf leaf = DescendWithPath(vma.Start);
        int i = leaf.IndexOf(vma);
        leaf.RemoveAt(i);
        if (i == 0 && leaf.Count > 0)
        {
            LowestChanged(leaf.Starts[0]);
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
        }

        Count--;
        vma.PrevVma = vma.NextVma = null;
        ulong prevEnd = prev?.End ?? 0;
        if (next is not null && i < leaf.Count)
        {
            leaf.Gaps[i] = next.Start - prevEnd;
            next = null;
        }

        GapsChanged();
        Refill(leaf);
        if (next is not null)
        {
            SetGap(next, next.Start - prevEnd);
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
        Leaf leaf = DescendWithPath(vma.Start);
        int i = leaf.IndexOf(vma);
        ulong oldStart = vma.Start;
        leaf.Starts[i] = start;
        leaf.Ends[i] = end;
        leaf.Gaps[i] = start - (vma.PrevVma?.End ?? 0);
        if (i == 0 && start != oldStart)
        {
            LowestChanged(start);
        }

        vma.Start = start;
        vma.End = end;
        SetGapOfNext(leaf, i, vma.NextVma, end);
    }

    // The entry at slot of leaf (on the recorded path) changed its end or was added before next: records next's
    // gap (in the same leaf, or by a walk to its own) and refreshes the largest gaps above.
    private void SetGapOfNext(Leaf leaf, int slot, Vma? next, ulong end)
    {
        if (next is not null && slot + 1 < leaf.Count)
        {
            leaf.Gaps[slot + 1] = next.Start - end;
            next = null;
        }

        GapsChanged();
        if (next is not null)
        {
            SetGap(next, next.Start - end);
        }
    }

    private void SetGap(Vma vma, ulong gap)
    {
        Leaf leaf = DescendWithPath(vma.Start);
        leaf.Gaps[leaf.IndexOf(vma)] = gap;
        GapsChanged();
    }

    private Leaf LeafFor(ulong key)
    {
        Node node = _root;
        for (int level = _height; level > 0; level--)
        {
            Inner inner = Unsafe.As<Inner>(node);
            node = inner.Children[Math.Max(inner.LastAtOrBelow(key), 0)]!;
        }

        return Unsafe.As<Leaf>(node);
    }

    // Walks to the leaf for key, recording the path.
    private Leaf DescendWithPath(ulong key)
    {
        Node node = _root;
        for (int level = _height; level > 0; level--)
        {
            Inner inner = Unsafe.As<Inner>(node);
            int slot = Math.Max(inner.LastAtOrBelow(key), 0);
            _pathNode[level - 1] = inner;
            _pathSlot[level - 1] = slot;
            node = inner.Children[slot]!;
        }

        return Unsafe.As<Leaf>(node);
    }

    // The lowest start under the leaf at the end of the recorded path changed to key: the keys above follow, up to
    // the first level where the path did not take the first child.
    private void LowestChanged(ulong key)
    {
        for (int level = 0; level < _height; level++)
        {
            _pathNode[level].Keys[_pathSlot[level]] = key;
            if (_pathSlot[level] != 0)
            {
                return;
            }
        }
    }

    // Gaps changed in the leaf at the end of the recorded path: the largest gaps above follow, up to the first level
    // whose value comes out as it was (every level above was computed from the same values).
    private void GapsChanged()
    {
        Node child = _height == 0 ? _root : _pathNode[0].Children[_pathSlot[0]]!;
        for (int level = 0; level < _height; level++)
        {
            Inner parent = _pathNode[level];
            int slot = _pathSlot[level];
            ulong gap = child.LargestGap();
            if (parent.MaxGaps[slot] == gap)
            {
                return;
            }

            parent.MaxGaps[slot] = gap;
            child = parent;
        }
    }

    private void SplitLeaf(Leaf leaf)
    {
        Leaf right = _spareLeaves.TryPop(out Leaf? spare) ? spare : new Leaf();
        leaf.MoveTail(leaf.Count / 2, right);
        AddChild(0, leaf, right);
    }

    // Puts newChild right after child, a node at the given level (0 for a leaf) whose parent is on the recorded
    // path, splitting upwards as needed; a new root when child was the root.
    private void AddChild(int level, Node child, Node newChild)
    {
        if (level == _height)
        {
            var root = new Inner();
            root.InsertAt(0, child.Lowest(), child.LargestGap(), child);
            root.InsertAt(1, newChild.Lowest(), newChild.LargestGap(), newChild);
            _root = root;
            _height++;
            return;
        }

        Inner parent = _pathNode[level];
        int slot = _pathSlot[level];
        parent.MaxGaps[slot] = child.LargestGap();
        slot++;
        if (parent.Count < Fanout)
        {
            // The parent's own largest gap is unchanged by moving entries between its children.
            parent.InsertAt(slot, newChild.Lowest(), newChild.LargestGap(), newChild);
            return;
        }

        // A full parent splits too, after taking the new child, so that the level above is given both halves'
        // lowest starts and largest gaps as they end up.
        var right = new Inner();
        int keep = parent.Count / 2;
        parent.MoveTail(keep, right);
        if (slot > keep)
        {
            right.InsertAt(slot - keep, newChild.Lowest(), newChild.LargestGap(), newChild);
        }
        else
        {
            parent.InsertAt(slot, newChild.Lowest(), newChild.LargestGap(), newChild);
        }

        AddChild(level + 1, parent, right);
    }

    // After a removal from the leaf at the end of the recorded path (largest gaps above already refreshed), keeps
    // every non-root node at least MinFill full by merging with or borrowing from a sibling, level by level
    // upwards, and drops a root left with one child. Moving entries between siblings changes no gap and no largest
    // gap of their parent.
    private void Refill(Leaf leaf)
    {
        Node node = leaf;
        int level = 0; // of node: 0 for the leaf; its parent is _pathNode[level]
        while (level < _height && node.Count < MinFill)
        {
            Inner parent = _pathNode[level];
            int slot = _pathSlot[level];
            int leftSlot = slot > 0 ? slot - 1 : slot;
            Node left = parent.Children[leftSlot]!;
            Node right = parent.Children[leftSlot + 1]!;
            if (left.Count + right.Count <= Fanout)
            {
                left.Append(right);
                parent.MaxGaps[leftSlot] = Math.Max(parent.MaxGaps[leftSlot], parent.MaxGaps[leftSlot + 1]);
                parent.RemoveAt(leftSlot + 1);
                if (level == 0 && _spareLeaves.Count < SpareLeaves)
                {
                    _spareLeaves.Push(Unsafe.As<Leaf>(right));
                }
            }
            else
            {
                // Even out: whole entries move across the boundary and the right node's lowest start is its new key.
                int leftWants = (left.Count + right.Count) / 2;
                if (left.Count > leftWants)
                {
                    left.MoveTailToFront(leftWants, right);
                }
                else
                {
                    left.TakeFront(right, leftWants - left.Count);
                }

                parent.Keys[leftSlot + 1] = right.Lowest();
                parent.MaxGaps[leftSlot] = left.LargestGap();
                parent.MaxGaps[leftSlot + 1] = right.LargestGap();
                break;
            }

            node = parent;
            level++;
        }

        if (_height > 0 && _root.Count == 1)
        {
            _root = Unsafe.As<Inner>(_root).Children[0]!;
            _height--;
        }
    }
}
