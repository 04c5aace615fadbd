using System.Runtime.CompilerServices;
using Mapwright.Diagnostics;

namespace Mapwright.Mm;

/// <summary>The nodes of <see cref="VmaTree"/>: fixed arrays inside the node object, so that a node's keys lie
/// side by side in a few cache lines. Linux: lib/maple_tree.c struct maple_range_64, struct maple_arange_64.</summary>
internal sealed partial class VmaTree
{
    [InlineArray(Fanout)]
    private struct Keys
    {
        private ulong _element;
    }

    [InlineArray(Fanout)]
    private struct VmaRefs
    {
        private Vma? _element;
    }

    [InlineArray(Fanout)]
    private struct NodeRefs
    {
        private Node? _element;
    }

    private abstract class Node
    {
        public int Count;

        /// <summary>The lowest start under this node.</summary>
        public abstract ulong Lowest();

        /// <summary>The largest free gap below any VMA under this node.</summary>
        public abstract ulong LargestGap();

        public abstract int LastAtOrBelow(ulong key);

        /// <summary>Moves every entry of right (a node of the same kind) onto the end of this one.</summary>
        public abstract void Append(Node right);

        /// <summary>Moves the entries from keep on into the empty node right.</summary>
        public abstract void MoveTail(int keep, Node right);

        /// <summary>Moves the entries from keep on to the front of right.</summary>
        public abstract void MoveTailToFront(int keep, Node right);

        /// <summary>Moves the first n entries of right onto the end of this one.</summary>
        public abstract void TakeFront(Node right, int n);

        /// <summary>The slot of the last of the first count keys at or below key, or -1.</summary>
        protected static int LastAtOrBelow(ref Keys keys, int count, ulong key)
        {
            ReadOnlySpan<ulong> span = keys;
            int lo = 0;
            int hi = count;
            while (lo < hi)
            {
                int mid = (lo + hi) >> 1;
                if (span[mid] <= key)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }

            return lo - 1;
        }

        protected static ulong Max(ReadOnlySpan<ulong> values)
        {
            ulong max = 0;
            foreach (ulong v in values)
            {
                max = Math.Max(max, v);
            }

            return max;
        }
    }

    /// <summary>VMAs in address order with their starts, ends and the free gap below each (the gap from the previous
    /// VMA's end, or from 0 for the first).</summary>
    private sealed class Leaf : Node
    {
        public Keys Starts;
        public Keys Ends;
        public Keys Gaps;
        public VmaRefs Vmas;

        public override int LastAtOrBelow(ulong key) => LastAtOrBelow(ref Starts, Count, key);

        public override ulong Lowest() => Starts[0];

        public override ulong LargestGap() => Max(((ReadOnlySpan<ulong>)Gaps)[..Count]);

        public int IndexOf(Vma vma)
        {
            int i = LastAtOrBelow(vma.Start);
            Bug.On(i < 0 || Vmas[i] != vma, $"VMA {vma} is not in the tree under its start");
            return i;
        }

        public void InsertAt(int slot, ulong start, ulong end, ulong gap, Vma vma)
        {
            Copy(this, slot, this, slot + 1, Count - slot);
            Starts[slot] = start;
            Ends[slot] = end;
            Gaps[slot] = gap;
            Vmas[slot] = vma;
            Count++;
        }

        public void RemoveAt(int slot)
        {
            Copy(this, slot + 1, this, slot, Count - slot - 1);
            Count--;
            Vmas[Count] = null;
        }

        public override void Append(Node right)
        {
            var r = Unsafe.As<Leaf>(right);
            Copy(r, 0, this, Count, r.Count);
            Count += r.Count;
            ((Span<Vma?>)r.Vmas).Clear();
            r.Count = 0;
        }

        public override void MoveTail(int keep, Node right)
        {
            var r = Unsafe.As<Leaf>(right);
            int n = Count - keep;
            Copy(this, keep, r, 0, n);
            r.Count = n;
            ((Span<Vma?>)Vmas)[keep..Count].Clear();
            Count = keep;
        }

        public override void MoveTailToFront(int keep, Node right)
        {
            var r = Unsafe.As<Leaf>(right);
            int n = Count - keep;
            Copy(r, 0, r, n, r.Count);
            Copy(this, keep, r, 0, n);
            r.Count += n;
            ((Span<Vma?>)Vmas)[keep..Count].Clear();
            Count = keep;
        }

        public override void TakeFront(Node right, int n)
        {
            var r = Unsafe.As<Leaf>(right);
            Copy(r, 0, this, Count, n);
            Count += n;
            Copy(r, n, r, 0, r.Count - n);
            ((Span<Vma?>)r.Vmas)[(r.Count - n)..r.Count].Clear();
            r.Count -= n;
        }

        // Span copies: overlapping ranges within one leaf are moved correctly.
        private static void Copy(Leaf from, int fromSlot, Leaf to, int toSlot, int n)
        {
            ((Span<ulong>)from.Starts).Slice(fromSlot, n).CopyTo(((Span<ulong>)to.Starts)[toSlot..]);
            ((Span<ulong>)from.Ends).Slice(fromSlot, n).CopyTo(((Span<ulong>)to.Ends)[toSlot..]);
            ((Span<ulong>)from.Gaps).Slice(fromSlot, n).CopyTo(((Span<ulong>)to.Gaps)[toSlot..]);
            ((Span<Vma?>)from.Vmas).Slice(fromSlot, n).CopyTo(((Span<Vma?>)to.Vmas)[toSlot..]);
        }
    }

    /// <summary>Children in address order with, per child, the lowest start and the largest gap under it.</summary>
    private sealed class Inner : Node
    {
        public Keys Keys;
        public Keys MaxGaps;
        public NodeRefs Children;

        public override int LastAtOrBelow(ulong key) => LastAtOrBelow(ref Keys, Count, key);

        public override ulong Lowest() => Keys[0];

        public override ulong LargestGap() => Max(((ReadOnlySpan<ulong>)MaxGaps)[..Count]);

        public void InsertAt(int slot, ulong key, ulong maxGap, Node child)
        {
            Copy(this, slot, this, slot + 1, Count - slot);
            Keys[slot] = key;
            MaxGaps[slot] = maxGap;
            Children[slot] = child;
            Count++;
        }

        public void RemoveAt(int slot)
        {
            Copy(this, slot + 1, this, slot, Count - slot - 1);
            Count--;
            Children[Count] = null;
        }

        public override void Append(Node right)
        {
            var r = Unsafe.As<Inner>(right);
            Copy(r, 0, this, Count, r.Count);
            Count += r.Count;
            ((Span<Node?>)r.Children).Clear();
            r.Count = 0;
        }

        public override void MoveTail(int keep, Node right)
        {
            var r = Unsafe.As<Inner>(right);
            int n = Count - keep;
            Copy(this, keep, r, 0, n);
            r.Count = n;
            ((Span<Node?>)Children)[keep..Count].Clear();
            Count = keep;
        }

        public override void MoveTailToFront(int keep, Node right)
        {
            var r = Unsafe.As<Inner>(right);
            int n = Count - keep;
            Copy(r, 0, r, n, r.Count);
            Copy(this, keep, r, 0, n);
            r.Count += n;
            ((Span<Node?>)Children)[keep..Count].Clear();
            Count = keep;
        }

        public override void TakeFront(Node right, int n)
        {
            var r = Unsafe.As<Inner>(right);
            Copy(r, 0, this, Count, n);
            Count += n;
            Copy(r, n, r, 0, r.Count - n);
            ((Span<Node?>)r.Children)[(r.Count - n)..r.Count].Clear();
            r.Count -= n;
        }

        private static void Copy(Inner from, int fromSlot, Inner to, int toSlot, int n)
        {
            ((Span<ulong>)from.Keys).Slice(fromSlot, n).CopyTo(((Span<ulong>)to.Keys)[toSlot..]);
            ((Span<ulong>)from.MaxGaps).Slice(fromSlot, n).CopyTo(((Span<ulong>)to.MaxGaps)[toSlot..]);
            ((Span<Node?>)from.Children).Slice(fromSlot, n).CopyTo(((Span<Node?>)to.Children)[toSlot..]);
        }
    }
}
