using CsCheck;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Xunit;

namespace Mapwright.Tests.Mm;

public sealed class VmaTreeTests
{
    private const ulong Page = PageConstants.PageSize;

    /// <summary>Pages in the simulated space; queries reach a little beyond it and to ulong.MaxValue.</summary>
    private const uint SpacePages = 256;

    private const VmFlags Flags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite;

    private static VmaTree TreeOf(params (ulong Start, ulong End)[] ranges)
    {
        var tree = new VmaTree();
        foreach (var (start, end) in ranges)
        {
            tree.Insert(new Vma(start, end, start >> PageConstants.PageShift, Flags, null));
        }

        tree.Validate();
        return tree;
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c find_vma(): the first VMA with vm_end > addr")]
    public void FindVmaReturnsTheFirstVmaEndingAboveTheAddress()
    {
        VmaTree tree = TreeOf((0x1000, 0x3000), (0x5000, 0x6000));
        Assert.Equal(0x1000UL, tree.FindVma(0)!.Start);
        Assert.Equal(0x1000UL, tree.FindVma(0x2fff)!.Start);
        Assert.Equal(0x5000UL, tree.FindVma(0x3000)!.Start);
        Assert.Equal(0x5000UL, tree.FindVma(0x5fff)!.Start);
        Assert.Null(tree.FindVma(0x6000));
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/vmacache.c (before 6.1): a cached lookup answers as a walk does once the VMA is shrunk, removed or a VMA is inserted before it")]
    public void TheLookupCacheNeverOutlivesItsVma()
    {
        VmaTree tree = TreeOf((0x1000, 0x3000), (0x5000, 0x6000));
        Vma first = tree.FindVma(0x2000)!;
        Assert.Equal(0x1000UL, first.Start);

        // Shrunk: the address is no longer inside; find_vma() gives the VMA itself (it still ends above).
        tree.SetRange(first, 0x1000, 0x2000);
        Assert.Same(first, tree.FindVma(0x1fff));
        Assert.Equal(0x5000UL, tree.FindVma(0x2000)!.Start);

        // Removed: a lookup inside its old range walks the tree.
        Assert.Same(first, tree.FindVma(0x1000));
        tree.Remove(first);
        tree.Validate();
        Assert.Equal(0x5000UL, tree.FindVma(0x1000)!.Start);
        Assert.Null(tree.Lookup(0x1000));

        // A VMA inserted below the cached one: addresses below it find the new VMA.
        Assert.Equal(0x5000UL, tree.FindVma(0x5000)!.Start);
        tree.Insert(new Vma(0x3000, 0x4000, 3, Flags, null));
        Assert.Equal(0x3000UL, tree.FindVma(0x2000)!.Start);
        Assert.Equal(0x5000UL, tree.FindVma(0x5fff)!.Start);
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c find_vma() and vma_prev() in a free range: the answers of a walk, whatever changed around the range since the last lookup in it")]
    public void TheFreeRangeCacheAnswersAsAWalkAfterInsertsResizesAndRemovals()
    {
        VmaTree tree = TreeOf((0x1000, 0x2000), (0x8000, 0x9000));
        Vma above = tree.FindVma(0x4000)!;
        Assert.Equal(0x8000UL, above.Start);
        Assert.Equal(0x1000UL, tree.FindPrev(0x4000)!.Start);

        // A VMA inserted inside the free range splits it: each side answers with its own neighbours.
        tree.Insert(new Vma(0x4000, 0x5000, 4, Flags, null));
        Assert.Equal(0x4000UL, tree.FindVma(0x3000)!.Start);
        Assert.Equal(0x1000UL, tree.FindPrev(0x3000)!.Start);
        Assert.Equal(0x4000UL, tree.FindPrev(0x6000)!.Start);
        Assert.Equal(0x8000UL, tree.FindVma(0x6000)!.Start);

        // The VMA above grown down into the range, the one below grown up into it.
        tree.SetRange(above, 0x6000, 0x9000);
        Assert.Same(above, tree.FindVma(0x6000));
        Assert.Equal(0x6000UL, tree.FindPrev(0x6001)!.Start);
        Assert.Same(above, tree.FindVma(0x5000));
        tree.SetRange(tree.Lookup(0x4000)!, 0x4000, 0x5800);
        Assert.Equal(0x4000UL, tree.FindVma(0x5000)!.Start);
        Assert.Same(above, tree.FindVma(0x5800));

        // The VMA above the range removed: the range now reaches the end of the space.
        Assert.Null(tree.FindIntersection(0x5800, 0x6000));
        tree.Remove(above);
        tree.Validate();
        Assert.Null(tree.FindVma(0x5800));
        Assert.Null(tree.FindVma(0x8000));
        Assert.Equal(0x4000UL, tree.FindPrev(0x8000)!.Start);

        // Above the last VMA: a VMA appended there, then the last VMA removed.
        tree.Insert(new Vma(0xa000, 0xb000, 10, Flags, null));
        Assert.Equal(0xa000UL, tree.FindVma(0x9000)!.Start);
        Assert.Equal(0xa000UL, tree.FindPrev(0xc000)!.Start);
        Assert.Null(tree.FindVma(0xc000));
        tree.Remove(tree.Lookup(0xa000)!);
        Assert.Null(tree.FindVma(0x9000));
        Assert.Equal(0x4000UL, tree.FindPrev(0xc000)!.Start);
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "include/linux/mm.h vma_lookup() and find_vma_intersection()")]
    public void LookupAndIntersectionRespectTheExclusiveEnd()
    {
        VmaTree tree = TreeOf((0x1000, 0x3000), (0x5000, 0x6000));
        Assert.Null(tree.Lookup(0x3000));
        Assert.Null(tree.Lookup(0xfff));
        Assert.Equal(0x1000UL, tree.Lookup(0x1000)!.Start);
        Assert.Null(tree.FindIntersection(0x3000, 0x5000));
        Assert.Equal(0x5000UL, tree.FindIntersection(0x3000, 0x5001)!.Start);
        Assert.Equal(0x1000UL, tree.FindIntersection(0x2fff, 0x6000)!.Start);
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "include/linux/mm.h vma_prev(): the VMA before the gap or VMA at addr")]
    public void FindPrevReturnsTheLastVmaStartingBelowTheAddress()
    {
        VmaTree tree = TreeOf((0x1000, 0x3000), (0x5000, 0x6000));
        Assert.Null(tree.FindPrev(0x1000));
        Assert.Equal(0x1000UL, tree.FindPrev(0x1001)!.Start);
        Assert.Equal(0x1000UL, tree.FindPrev(0x5000)!.Start);
        Assert.Equal(0x5000UL, tree.FindPrev(ulong.MaxValue)!.Start);
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "lib/maple_tree.c mas_empty_area_rev() via mm/vma.h vma_iter_area_highest()")]
    public void HighestGapPrefersTheFreeSpaceAboveTheLastVmaClippedToHigh()
    {
        VmaTree tree = TreeOf((0x10000, 0x20000), (0x30000, 0x40000));
        Assert.True(tree.FindHighestGap(0x1000, 0x100000, 0x1000, out ulong end));
        Assert.Equal(0x100000UL, end);

        // Below 0x40000 the highest gap that fits 0x10000 bytes is [0x20000, 0x30000).
        Assert.True(tree.FindHighestGap(0x1000, 0x40000, 0x10000, out end));
        Assert.Equal(0x30000UL, end);

        // Clipped by high, [0x20000, 0x2ffff) is one byte short, so the fit is below the first VMA.
        Assert.True(tree.FindHighestGap(0, 0x2ffff, 0x10000, out end));
        Assert.Equal(0x10000UL, end);
        Assert.False(tree.FindHighestGap(0x1000, 0x2ffff, 0x10000, out _));
        Assert.False(tree.FindHighestGap(0, 0x40000, 0x10001, out _));
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "lib/maple_tree.c mas_empty_area() via mm/vma.h vma_iter_area_lowest()")]
    public void LowestGapReturnsTheClippedStartOfTheFirstFit()
    {
        VmaTree tree = TreeOf((0x10000, 0x20000), (0x30000, 0x40000));
        Assert.True(tree.FindLowestGap(0x8000, 0x100000, 0x8000, out ulong start));
        Assert.Equal(0x8000UL, start);
        Assert.True(tree.FindLowestGap(0x8001, 0x100000, 0x8000, out start));
        Assert.Equal(0x20000UL, start);
        Assert.True(tree.FindLowestGap(0x8001, 0x100000, 0x10001, out start));
        Assert.Equal(0x40000UL, start);
        Assert.False(tree.FindLowestGap(0x8001, 0x40000, 0x10001, out _));
        tree.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vma_set_range(): a range change keeps the gap cache right")]
    public void SetRangeUpdatesTheGapsOnBothSides()
    {
        VmaTree tree = TreeOf((0x1000, 0x2000), (0x5000, 0x6000), (0x9000, 0xa000));
        Vma middle = tree.Lookup(0x5000)!;
        tree.SetRange(middle, 0x2000, 0x9000);
        tree.Validate();
        Assert.False(tree.FindLowestGap(0x1000, 0xa000, 0x1000, out _));
        tree.SetRange(middle, 0x4000, 0x5000);
        tree.Validate();
        Assert.True(tree.FindHighestGap(0, 0xa000, 0x4000, out ulong end));
        Assert.Equal(0x9000UL, end);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vma_iter_store(): removing every VMA leaves an empty tree")]
    public void RemovingEveryVmaInAnyOrderLeavesAnEmptyTree()
    {
        VmaTree tree = TreeOf((0x1000, 0x2000), (0x3000, 0x4000), (0x5000, 0x6000), (0x7000, 0x8000), (0x9000, 0xa000));
        foreach (ulong addr in new ulong[] { 0x5000, 0x1000, 0x9000, 0x3000, 0x7000 })
        {
            tree.Remove(tree.Lookup(addr)!);
            tree.Validate();
        }

        Assert.Equal(0, tree.Count);
        Assert.Null(tree.First);
        Assert.Null(tree.Last);
        Assert.True(tree.FindHighestGap(0, ulong.MaxValue, ulong.MaxValue, out ulong end));
        Assert.Equal(ulong.MaxValue, end);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c find_vma(), vma_prev(), mas_empty_area(_rev)(): exact against brute force over 6000 VMAs inserted, resized and removed in random order")]
    public void LookupsAndGapSearchesStayExactThroughThousandsOfInsertsResizesAndRemovals()
    {
        // 6000 VMAs of one to three pages with free gaps of one to six pages, inserted in random order, so that the
        // tree is deep and rotates often. Resizes into the free pages around a VMA change gaps on both sides;
        // removals in random order take the tree back to empty.
        const int N = 6000;
        var rng = new Random(8);
        var tree = new VmaTree();
        var starts = new ulong[N];
        var ends = new ulong[N];
        ulong at = 0;
        for (int i = 0; i < N; i++)
        {
            at += (ulong)rng.Next(1, 7) * Page;
            starts[i] = at;
            at += (ulong)rng.Next(1, 4) * Page;
            ends[i] = at;
        }

        var vmas = new Vma[N];
        var present = new bool[N];
        int k = 0;
        foreach (int i in Enumerable.Range(0, N).OrderBy(_ => rng.Next()))
        {
            vmas[i] = new Vma(starts[i], ends[i], starts[i] / Page, Flags, null);
            tree.Insert(vmas[i]);
            present[i] = true;
            if (k % 500 == 499 || k < 40)
            {
                tree.Validate();
                CheckLookups(tree, Kept(starts, present), Kept(ends, present), rng);
            }

            k++;
        }

        for (int r = 0; r < 3000; r++)
        {
            int i = rng.Next(N);
            ulong lo = i > 0 ? ends[i - 1] : 0;
            ulong hi = i + 1 < N ? starts[i + 1] : ends[i] + Page;
            ulong start = lo + ((ulong)rng.NextInt64(0, (long)((starts[i] - lo) / Page) + 1) * Page);
            ulong end = start + ((ulong)rng.NextInt64(1, (long)((hi - start) / Page) + 1) * Page);
            tree.SetRange(vmas[i], start, end);
            (starts[i], ends[i]) = (start, end);
            if (r % 1000 == 999)
            {
                tree.Validate();
                CheckLookups(tree, starts, ends, rng);
            }
        }

        int left = N;
        foreach (int i in Enumerable.Range(0, N).OrderBy(_ => rng.Next()))
        {
            tree.Remove(vmas[i]);
            present[i] = false;
            left--;
            if (left % 500 == 0 || left < 40)
            {
                tree.Validate();
                CheckLookups(tree, Kept(starts, present), Kept(ends, present), rng);
            }
        }

        Assert.Equal(0, tree.Count);
        Assert.Null(tree.FindVma(0));
        Assert.Null(tree.FindPrev(ulong.MaxValue));
    }

    private static ulong[] Kept(ulong[] values, bool[] present) =>
        values.Where((_, i) => present[i]).ToArray();

    // starts/ends: the VMAs in address order.
    private static void CheckLookups(VmaTree tree, ulong[] starts, ulong[] ends, Random rng)
    {
        Assert.Equal(starts.Length, tree.Count);
        var model = starts.Zip(ends).ToList();
        ulong top = starts.Length == 0 ? Page : ends[^1] + Page;
        for (int q = 0; q < 200; q++)
        {
            ulong addr = (ulong)rng.NextInt64(0, (long)top);
            int fi = Array.FindIndex(ends, e => e > addr);
            Assert.Equal(fi >= 0 ? starts[fi] : (ulong?)null, tree.FindVma(addr)?.Start);
            int pi = Array.FindLastIndex(starts, s => s < addr);
            Assert.Equal(pi >= 0 ? starts[pi] : (ulong?)null, tree.FindPrev(addr)?.Start);

            ulong low = (ulong)rng.NextInt64(0, (long)top);
            // Narrow windows put the answer at the window's edges, where the searches prune.
            ulong high = rng.Next(4) switch
            {
                0 => ulong.MaxValue,
                1 => (ulong)rng.NextInt64((long)low, (long)top + 1),
                _ => low + (ulong)rng.Next(1, 48 * (int)Page),
            };
            ulong length = rng.Next(3) == 0 ? (ulong)rng.Next(1, 8 * (int)Page) : (ulong)rng.Next(1, 8) * Page;
            if (starts.Length > 1 && rng.Next(2) == 0)
            {
                // A window around one free gap, a little wider than it, asking for about its size: the answer is
                // that gap or none, found at the edge of the window and often at the edge of a node.
                int j = rng.Next(1, starts.Length);
                ulong gs = ends[j - 1];
                ulong ge = starts[j];
                low = gs - Math.Min(gs, (ulong)rng.Next(0, 3 * (int)Page));
                high = ge + (ulong)rng.Next(0, 3 * (int)Page);
                length = Math.Max(1, ge - gs - (ulong)rng.Next(0, (int)Page + 1));
            }

            Assert.Equal(BruteHighest(model, low, high, length), tree.FindHighestGap(low, high, length, out ulong gapEnd) ? gapEnd : null);
            Assert.Equal(BruteLowest(model, low, high, length), tree.FindLowestGap(low, high, length, out ulong gapStart) ? gapStart : null);
        }
    }

    // ---- property test against a sorted-list model ----

    /// <summary>One step: an operation kind and raw numbers the interpreter maps onto the current state.</summary>
    private readonly record struct Step(int Kind, uint A, uint B, uint C);

    private static readonly Gen<Step> s_step =
        Gen.Select(Gen.Int[0, 9], Gen.UInt, Gen.UInt, Gen.UInt).Select(t => new Step(t.Item1, t.Item2, t.Item3, t.Item4));

    [Fact]
    [Trait("Linux", "lib/maple_tree.c (mm->mm_mt) lookups and gap searches; mm/vma.c validate_mm()")]
    public void RandomInsertRemoveAndResizeAgreeWithASortedListModel()
    {
        s_step.Array[1, 120].Sample(steps =>
        {
            var tree = new VmaTree();
            var model = new List<(ulong Start, ulong End)>();
            Step? before = null;
            foreach (Step step in steps)
            {
                Apply(tree, model, step);
                tree.Validate();

                // The last step's queries again first: the lookup caches they filled meet the change.
                if (before is { } last)
                {
                    CheckAgainstModel(tree, model, last);
                }

                CheckAgainstModel(tree, model, step);
                before = step;
            }
        }, iter: 400);
    }

    private static void Apply(VmaTree tree, List<(ulong Start, ulong End)> model, Step step)
    {
        switch (step.Kind)
        {
            case <= 4:
                {
                    // Insert a range clipped to the free space around a random page.
                    ulong page = step.A % SpacePages;
                    ulong addr = page * Page;
                    if (ModelLookup(model, addr) >= 0)
                    {
                        return;
                    }

                    int nextIndex = FirstEndingAbove(model, addr);
                    ulong limit = nextIndex < model.Count ? model[nextIndex].Start : SpacePages * Page;
                    ulong end = Math.Min(addr + ((1 + (step.B % 8)) * Page), limit);
                    tree.Insert(new Vma(addr, end, page, Flags, null));
                    model.Insert(nextIndex, (addr, end));
                    break;
                }

            case <= 6:
                {
                    if (model.Count == 0)
                    {
                        return;
                    }

                    int i = (int)(step.A % (uint)model.Count);
                    tree.Remove(tree.Lookup(model[i].Start)!);
                    model.RemoveAt(i);
                    break;
                }

            default:
                {
                    // SetRange anywhere inside [prev.End, next.Start): shrink, grow into free space, or slide.
                    if (model.Count == 0)
                    {
                        return;
                    }

                    int i = (int)(step.A % (uint)model.Count);
                    ulong lo = i > 0 ? model[i - 1].End : 0;
                    ulong hi = i + 1 < model.Count ? model[i + 1].Start : SpacePages * Page;
                    ulong pages = (hi - lo) / Page;
                    ulong s = lo + ((step.B % pages) * Page);
                    ulong e = s + ((1 + (step.C % ((hi - s) / Page))) * Page);
                    tree.SetRange(tree.Lookup(model[i].Start)!, s, e);
                    model[i] = (s, e);
                    break;
                }
        }
    }

    private static void CheckAgainstModel(VmaTree tree, List<(ulong Start, ulong End)> model, Step step)
    {
        Assert.Equal(model.Count, tree.Count);
        int k = 0;
        for (Vma? v = tree.First; v is not null; v = v.NextVma, k++)
        {
            Assert.Equal(model[k], (v.Start, v.End));
        }

        // Queries derived from the step's numbers: addresses around the space, sometimes unaligned.
        var rng = new Random((int)(step.A ^ (step.B * 31) ^ (step.C * 131)));
        for (int q = 0; q < 8; q++)
        {
            ulong addr = RandomAddress(rng);
            int fi = FirstEndingAbove(model, addr);
            Assert.Equal(fi < model.Count ? model[fi].Start : (ulong?)null, tree.FindVma(addr)?.Start);

            int li = ModelLookup(model, addr);
            Assert.Equal(li >= 0 ? model[li].Start : (ulong?)null, tree.Lookup(addr)?.Start);

            int pi = LastStartingBelow(model, addr);
            Assert.Equal(pi >= 0 ? model[pi].Start : (ulong?)null, tree.FindPrev(addr)?.Start);

            ulong end = addr + 1 + (ulong)rng.Next(0, 8 * (int)Page);
            ulong? expected = fi < model.Count && model[fi].Start < end ? model[fi].Start : null;
            Assert.Equal(expected, tree.FindIntersection(addr, end)?.Start);

            ulong low = RandomAddress(rng);
            ulong high = rng.Next(8) == 0 ? ulong.MaxValue : RandomAddress(rng);
            ulong length = rng.Next(4) == 0 ? (ulong)rng.Next(1, 40) * Page : (ulong)rng.Next(1, 40 * (int)Page);
            bool foundHigh = tree.FindHighestGap(low, high, length, out ulong gapEnd);
            ulong? want = BruteHighest(model, low, high, length);
            Assert.True(want.HasValue == foundHigh, $"FindHighestGap({low:x}, {high:x}, {length:x}) found={foundHigh}, model {want:x}");
            if (foundHigh)
            {
                Assert.Equal(want!.Value, gapEnd);
            }

            bool foundLow = tree.FindLowestGap(low, high, length, out ulong gapStart);
            want = BruteLowest(model, low, high, length);
            Assert.True(want.HasValue == foundLow, $"FindLowestGap({low:x}, {high:x}, {length:x}) found={foundLow}, model {want:x}");
            if (foundLow)
            {
                Assert.Equal(want!.Value, gapStart);
            }
        }
    }

    private static ulong RandomAddress(Random rng) => rng.Next(4) switch
    {
        0 => (ulong)rng.Next(0, (int)(SpacePages + 16) * (int)Page),
        _ => (ulong)rng.Next(0, (int)SpacePages + 16) * Page,
    };

    /// <summary>The free ranges: between VMAs, below the first, and above the last up to ulong.MaxValue.</summary>
    private static List<(ulong Start, ulong End)> Gaps(List<(ulong Start, ulong End)> model)
    {
        var gaps = new List<(ulong Start, ulong End)>();
        ulong prevEnd = 0;
        foreach (var (start, end) in model)
        {
            if (start > prevEnd)
            {
                gaps.Add((prevEnd, start));
            }

            prevEnd = end;
        }

        gaps.Add((prevEnd, ulong.MaxValue));
        return gaps;
    }

    private static ulong? BruteHighest(List<(ulong Start, ulong End)> model, ulong low, ulong high, ulong length)
    {
        List<(ulong Start, ulong End)> gaps = Gaps(model);
        for (int i = gaps.Count - 1; i >= 0; i--)
        {
            ulong s = Math.Max(gaps[i].Start, low);
            ulong e = Math.Min(gaps[i].End, high);
            if (e > s && e - s >= length)
            {
                return e;
            }
        }

        return null;
    }

    private static ulong? BruteLowest(List<(ulong Start, ulong End)> model, ulong low, ulong high, ulong length)
    {
        foreach (var (start, end) in Gaps(model))
        {
            ulong s = Math.Max(start, low);
            ulong e = Math.Min(end, high);
            if (e > s && e - s >= length)
            {
                return s;
            }
        }

        return null;
    }

    private static int FirstEndingAbove(List<(ulong Start, ulong End)> model, ulong addr)
    {
        int i = 0;
        while (i < model.Count && model[i].End <= addr)
        {
            i++;
        }

        return i;
    }

    private static int ModelLookup(List<(ulong Start, ulong End)> model, ulong addr)
    {
        int i = FirstEndingAbove(model, addr);
        return i < model.Count && model[i].Start <= addr ? i : -1;
    }

    private static int LastStartingBelow(List<(ulong Start, ulong End)> model, ulong addr)
    {
        int i = model.Count - 1;
        while (i >= 0 && model[i].Start >= addr)
        {
            i--;
        }

        return i;
    }
}
