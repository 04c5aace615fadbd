using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Mapwright.Vfs;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class VmaMergeTests
{
    private const VmFlags Flags = AddressSpaceBuilder.DefaultFlags;

    private static VmOperations WithClose(Action? onClose = null) => new() { Close = _ => onClose?.Invoke() };

    [Fact]
    [Trait("Linux", "tools/testing/vma simple_merge")]
    public void NewRangeBetweenCompatibleNeighboursMergesAllThree()
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x1000, 0);
        fx.AllocAndLink(0x2000, 0x3000, 2);
        Vma? vma = fx.Builder.MergeNew(0x1000, 0x2000, 1, out bool merged);
        Assert.True(merged);
        Assert.Equal("[0x0-0x3000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Equal(Flags, vma!.Flags);
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma simple_modify")]
    public void ModifyingTheMiddleSplitsIntoThreeWithContiguousPgoffs()
    {
        using var fx = new AddressSpaceFixture();
        Vma init = fx.AllocAndLink(0, 0x3000, 0);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(init, 0x1000, 0x2000, VmFlags.Read | VmFlags.MayRead, out Vma vma));
        Assert.Same(init, vma);
        Assert.Equal("[0x0-0x1000 rw-p pgoff=0x0] [0x1000-0x2000 r--p pgoff=0x1] [0x2000-0x3000 rw-p pgoff=0x2]", fx.Layout);
        Assert.Equal(3, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma simple_expand; mm/mremap.c expand_vma_in_place()")]
    public void GrowingInPlaceKeepsStartAndPgoff()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, Page, 3 * Page, 0, 0).Value);
        Assert.Equal("[0x100000-0x103000 rw-p pgoff=0x100]", fx.Layout);
        Assert.Equal(3UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma simple_shrink; mm/mremap.c shrink_vma()")]
    public void ShrinkingInPlaceKeepsStartAndPgoff()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, 3 * Page, Page, 0, 0).Value);
        Assert.Equal("[0x100000-0x101000 rw-p pgoff=0x100]", fx.Layout);
        Assert.Equal(1UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_new")]
    public void MergeNewSequenceMergesPrevNextAndBothAndPropagatesTheAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma a = fx.AllocAndLink(0, 0x2000, 0);
        Vma b = fx.AllocAndLink(0x3000, 0x4000, 3);
        Vma c = fx.AllocAndLink(0xb000, 0xc000, 0xb);

        // No merge: AA B   **  CC
        Vma d = fx.Builder.MergeNew(0x7000, 0x9000, 7, out bool merged)!;
        Assert.False(merged);
        Assert.Equal(4, fx.Mm.MapCount);
        Assert.Equal("AA B   CC  D", Layout.Picture(fx.Mm, 12));

        // Both sides: AA*B   DD  CC; A's vm_ops (with close) must not matter, B's anon_vma survives in A.
        a.VmOps = WithClose();
        b.AnonVma = dummy;
        Vma vma = fx.Builder.MergeNew(0x2000, 0x3000, 2, out merged)!;
        Assert.True(merged);
        Assert.Same(a, vma);
        Assert.Equal((0UL, 0x4000UL, 0UL), (vma.Start, vma.End, vma.PgOff));
        Assert.Same(dummy, vma.AnonVma);
        Assert.Equal(3, fx.Mm.MapCount);

        // Previous: AAAA*  DD  CC
        vma = fx.Builder.MergeNew(0x4000, 0x5000, 4, out merged)!;
        Assert.True(merged);
        Assert.Same(a, vma);
        Assert.Equal((0UL, 0x5000UL, 0UL), (vma.Start, vma.End, vma.PgOff));
        Assert.Same(dummy, vma.AnonVma);
        Assert.Equal(3, fx.Mm.MapCount);

        // Next: AAAAA *DD  CC; D has a close hook, which does not stop it being extended.
        d.AnonVma = dummy;
        d.VmOps = WithClose();
        vma = fx.Builder.MergeNew(0x6000, 0x7000, 6, out merged)!;
        Assert.True(merged);
        Assert.Same(d, vma);
        Assert.Equal((0x6000UL, 0x9000UL, 6UL), (vma.Start, vma.End, vma.PgOff));
        Assert.Same(dummy, vma.AnonVma);
        Assert.Equal(3, fx.Mm.MapCount);

        // Both sides again: AAAAA*DDD  CC
        d.VmOps = null;
        vma = fx.Builder.MergeNew(0x5000, 0x6000, 5, out merged)!;
        Assert.True(merged);
        Assert.Same(a, vma);
        Assert.Equal((0UL, 0x9000UL, 0UL), (vma.Start, vma.End, vma.PgOff));
        Assert.Same(dummy, vma.AnonVma);
        Assert.Equal(2, fx.Mm.MapCount);

        // Next: AAAAAAAAA *CC
        c.AnonVma = dummy;
        vma = fx.Builder.MergeNew(0xa000, 0xb000, 0xa, out merged)!;
        Assert.True(merged);
        Assert.Same(c, vma);
        Assert.Equal((0xa000UL, 0xc000UL, 0xaUL), (vma.Start, vma.End, vma.PgOff));
        Assert.Equal(2, fx.Mm.MapCount);

        // Both sides: AAAAAAAAA*CCC
        vma = fx.Builder.MergeNew(0x9000, 0xa000, 9, out merged)!;
        Assert.True(merged);
        Assert.Same(a, vma);
        Assert.Equal("[0x0-0xc000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Same(dummy, vma.AnonVma);
        Assert.Equal(1, fx.Mm.MapCount);
        Assert.Equal(12UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_special_flags: the four flags make up VM_SPECIAL")]
    public void TheFourSpecialFlagsAreExactlyVmSpecial()
    {
        Assert.Equal(VmFlags.Special, VmFlags.Io | VmFlags.DontExpand | VmFlags.PfnMap | VmFlags.MixedMap);
        Assert.Equal(0x4000UL | 0x40000UL | 0x400UL | 0x10000000UL, (ulong)VmFlags.Special);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_special_flags (control: the same ranges merge without the flag)")]
    public void WithoutASpecialFlagTheSameRangesMerge()
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0);
        Assert.NotNull(fx.Builder.MergeNew(0x3000, 0x4000, 3, out bool merged, linkIfUnmerged: false));
        Assert.True(merged);
        Vma b = fx.AllocAndLink(0x4000, 0x5000, 4, Flags | VmFlags.SeqRead);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(b, 0x4000, 0x5000, Flags, out Vma result));
        Assert.Equal("[0x0-0x5000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Equal(0UL, result.Start);
    }

    [Theory]
    [Trait("Linux", "tools/testing/vma vma_merge_special_flags; mm/vma.c vma_merge_new_range() VM_SPECIAL")]
    [InlineData(VmFlags.Io)]
    [InlineData(VmFlags.DontExpand)]
    [InlineData(VmFlags.PfnMap)]
    [InlineData(VmFlags.MixedMap)]
    public void ASpecialFlagBlocksANewRangeMerge(VmFlags special)
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0, Flags | special);
        Assert.Null(fx.Builder.MergeNew(0x3000, 0x4000, 3, out bool merged, Flags | special, linkIfUnmerged: false));
        Assert.False(merged);
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Theory]
    [Trait("Linux", "tools/testing/vma vma_merge_special_flags; mm/vma.c vma_merge_existing_range() VM_SPECIAL")]
    [InlineData(VmFlags.Io)]
    [InlineData(VmFlags.DontExpand)]
    [InlineData(VmFlags.PfnMap)]
    [InlineData(VmFlags.MixedMap)]
    public void ASpecialFlagBlocksAnExistingRangeMerge(VmFlags special)
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0, Flags | special);
        Vma b = fx.AllocAndLink(0x3000, 0x4000, 3);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(b, 0x3000, 0x4000, Flags | special, out Vma result));
        Assert.Same(b, result);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_with_close: new range, next has close")]
    public void ANewRangeMergeNeverDeletesANextWithClose()
    {
        using var fx = new AddressSpaceFixture();
        int closes = 0;
        Vma prev = fx.AllocAndLink(0, 0x3000, 0);
        fx.AllocAndLink(0x5000, 0x9000, 5, ops: WithClose(() => closes++));
        Vma? vma = fx.Builder.MergeNew(0x3000, 0x5000, 3, out bool merged);
        Assert.True(merged);
        Assert.Same(prev, vma);
        Assert.Equal("[0x0-0x5000 rw-p pgoff=0x0] [0x5000-0x9000 rw-p pgoff=0x5]", fx.Layout);
        Assert.Equal(0, closes);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_with_close: PPPVV, middle has close")]
    public void AMiddleWithCloseCannotBeMergedAwayIntoPrev()
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x5000, 3, ops: WithClose());
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(vma, result);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_with_close: VVNNNN, middle has close")]
    public void AMiddleWithCloseCannotBeMergedAwayIntoNext()
    {
        using var fx = new AddressSpaceFixture();
        Vma vma = fx.AllocAndLink(0x3000, 0x5000, 3, ops: WithClose());
        fx.AllocAndLink(0x5000, 0x9000, 5);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(vma, result);
        Assert.Equal("[0x3000-0x5000 rw-p pgoff=0x3] [0x5000-0x9000 rw-p pgoff=0x5]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_with_close: PPPVVNNNN, middle has close")]
    public void AMiddleWithCloseBlocksAMergeOnBothSides()
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x5000, 3, ops: WithClose());
        fx.AllocAndLink(0x5000, 0x9000, 5);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(vma, result);
        Assert.Equal(3, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_with_close: PPPVVNNNN, next has close")]
    public void ANextWithCloseReducesABothSidesMergeToPrevAndMiddle()
    {
        using var fx = new AddressSpaceFixture();
        int closes = 0;
        Vma prev = fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x5000, 3);
        fx.AllocAndLink(0x5000, 0x9000, 5, ops: WithClose(() => closes++));
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x5000 rw-p pgoff=0x0] [0x5000-0x9000 rw-p pgoff=0x5]", fx.Layout);
        Assert.Equal(0, closes);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma vma_merge_new_with_close")]
    public void ANewRangeBetweenTwoVmasWithCloseOnlyExpandsPrev()
    {
        using var fx = new AddressSpaceFixture();
        VmOperations ops = WithClose();
        Vma prev = fx.AllocAndLink(0, 0x2000, 0, ops: ops);
        fx.AllocAndLink(0x5000, 0x7000, 5, ops: ops);
        Vma? vma = fx.Builder.MergeNew(0x2000, 0x5000, 2, out bool merged);
        Assert.True(merged);
        Assert.Same(prev, vma);
        Assert.Same(ops, vma!.VmOps);
        Assert.Equal("[0x0-0x5000 rw-p pgoff=0x0] [0x5000-0x7000 rw-p pgoff=0x5]", fx.Layout);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_existing: merge right, partial span")]
    public void MergeExistingRightPartialSpanShrinksMiddleAndExtendsNext()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma vma = fx.AllocAndLink(0x2000, 0x6000, 2, anon: dummy, ops: WithClose());
        Vma next = fx.AllocAndLink(0x6000, 0x9000, 6, ops: WithClose());
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x6000, Flags, out Vma result));
        Assert.Same(next, result);
        Assert.Equal("[0x2000-0x3000 rw-p pgoff=0x2] [0x3000-0x9000 rw-p pgoff=0x3]", fx.Layout);
        Assert.Same(dummy, next.AnonVma);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_existing: merge right, full span")]
    public void MergeExistingRightFullSpanDeletesMiddle()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma vma = fx.AllocAndLink(0x2000, 0x6000, 2, anon: dummy);
        Vma next = fx.AllocAndLink(0x6000, 0x9000, 6, ops: WithClose());
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x2000, 0x6000, Flags, out Vma result));
        Assert.Same(next, result);
        Assert.Equal("[0x2000-0x9000 rw-p pgoff=0x2]", fx.Layout);
        Assert.Same(dummy, next.AnonVma);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_existing: merge left, partial span")]
    public void MergeExistingLeftPartialSpanExtendsPrevAndShrinksMiddle()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0, ops: WithClose());
        Vma vma = fx.AllocAndLink(0x3000, 0x7000, 3, anon: dummy, ops: WithClose());
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x6000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x6000 rw-p pgoff=0x0] [0x6000-0x7000 rw-p pgoff=0x6]", fx.Layout);
        Assert.Same(dummy, prev.AnonVma);
        Assert.Same(vma, fx.Mm.LookupVma(0x6000));
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_existing: merge left, full span")]
    public void MergeExistingLeftFullSpanDeletesMiddle()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0, ops: WithClose());
        Vma vma = fx.AllocAndLink(0x3000, 0x7000, 3, anon: dummy);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x7000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x7000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Same(dummy, prev.AnonVma);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma merge_existing: merge both")]
    public void MergeExistingBothDeletesMiddleAndNext()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0, ops: WithClose());
        Vma vma = fx.AllocAndLink(0x3000, 0x7000, 3, anon: dummy);
        fx.AllocAndLink(0x7000, 0x9000, 7);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x7000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x9000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Same(dummy, prev.AnonVma);
        Assert.Equal(9UL, fx.Mm.TotalVm);
    }

    [Theory]
    [Trait("Linux", "tools/testing/vma merge_existing: non-merge ranges (not touching an edge of the VMA)")]
    [InlineData(0x4000UL, 0x5000UL)]
    [InlineData(0x5000UL, 0x6000UL)]
    [InlineData(0x6000UL, 0x7000UL)]
    [InlineData(0x4000UL, 0x7000UL)]
    [InlineData(0x4000UL, 0x6000UL)]
    public void MergeExistingOfARangeInsideTheVmaDoesNotMerge(ulong start, ulong end)
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x8000, 3);
        fx.AllocAndLink(0x8000, 0xa000, 8);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, start, end, Flags, out Vma result));
        Assert.Equal((start, end, start >> 12), (result.Start, result.End, result.PgOff));
        Assert.Equal((0UL, 0x3000UL), (fx.Mm.FirstVma!.Start, fx.Mm.FirstVma.End));
        Assert.Equal(0x8000UL, fx.Mm.LookupVma(0x8000)!.Start);
        Assert.Equal(5, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma anon_vma_non_mergeable: existing range")]
    public void ModifiedRangeBetweenIncompatibleAnonVmasMergesWithPrevOnly()
    {
        using var fx = new AddressSpaceFixture();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0, anon: new AnonVma());
        Vma vma = fx.AllocAndLink(0x3000, 0x7000, 3);
        fx.AllocAndLink(0x7000, 0x9000, 7, anon: new AnonVma());
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x7000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x7000 rw-p pgoff=0x0] [0x7000-0x9000 rw-p pgoff=0x7]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma anon_vma_non_mergeable: new range")]
    public void NewRangeBetweenIncompatibleAnonVmasMergesWithPrevOnly()
    {
        using var fx = new AddressSpaceFixture();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0, anon: new AnonVma());
        fx.AllocAndLink(0x7000, 0x9000, 7, anon: new AnonVma());
        Assert.Same(prev, fx.Builder.MergeNew(0x3000, 0x7000, 3, out bool merged));
        Assert.True(merged);
        Assert.Equal("[0x0-0x7000 rw-p pgoff=0x0] [0x7000-0x9000 rw-p pgoff=0x7]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma dup_anon_vma: expanding prev over next takes next's anon_vma")]
    public void ExpandingPrevOverNextTakesNextsAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0);
        fx.AllocAndLink(0x5000, 0x8000, 5, anon: dummy);
        Assert.Same(prev, fx.Builder.MergeNew(0x3000, 0x5000, 3, out _));
        Assert.Same(dummy, prev.AnonVma);
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Theory]
    [Trait("Linux", "tools/testing/vma dup_anon_vma: prev extended over middle and next; whichever had it")]
    [InlineData(false)]
    [InlineData(true)]
    public void MergingBothSidesGivesTheSurvivorTheAnonVma(bool middleHasIt)
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x5000, 3, anon: middleHasIt ? dummy : null);
        fx.AllocAndLink(0x5000, 0x8000, 5, anon: middleHasIt ? null : dummy);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x8000 rw-p pgoff=0x0]", fx.Layout);
        Assert.Same(dummy, prev.AnonVma);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma dup_anon_vma: prev extended over part of the middle")]
    public void PartlyMergingIntoPrevGivesPrevTheMiddlesAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma prev = fx.AllocAndLink(0, 0x3000, 0);
        Vma vma = fx.AllocAndLink(0x3000, 0x8000, 3, anon: dummy);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(prev, result);
        Assert.Equal("[0x0-0x5000 rw-p pgoff=0x0] [0x5000-0x8000 rw-p pgoff=0x5]", fx.Layout);
        Assert.Same(dummy, prev.AnonVma);
        Assert.Same(dummy, vma.AnonVma);
    }

    [Fact]
    [Trait("Linux", "tools/testing/vma dup_anon_vma: next extended over part of the middle")]
    public void PartlyMergingIntoNextGivesNextTheMiddlesAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma vma = fx.AllocAndLink(0, 0x5000, 0, anon: dummy);
        Vma next = fx.AllocAndLink(0x5000, 0x8000, 5);
        Assert.Equal(Errno.None, fx.Builder.ModifyFlags(vma, 0x3000, 0x5000, Flags, out Vma result));
        Assert.Same(next, result);
        Assert.Equal("[0x0-0x3000 rw-p pgoff=0x0] [0x3000-0x8000 rw-p pgoff=0x3]", fx.Layout);
        Assert.Same(dummy, next.AnonVma);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c __split_vma(): the new VMA clones the anon_vma (anon_vma_clone)")]
    public void SplitHalvesShareTheAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma vma = fx.AllocAndLink(0, 0x3000, 0, anon: dummy);
        Assert.Equal(Errno.None, fx.Mm.SplitVma(vma, 0x1000, newBelow: true, out Vma below));
        Assert.Equal(Errno.None, fx.Mm.SplitVma(vma, 0x2000, newBelow: false, out Vma above));
        Assert.Same(dummy, below.AnonVma);
        Assert.Same(dummy, vma.AnonVma);
        Assert.Same(dummy, above.AnonVma);
        Assert.Equal("[0x0-0x1000 rw-p pgoff=0x0] [0x1000-0x2000 rw-p pgoff=0x1] [0x2000-0x3000 rw-p pgoff=0x2]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c __split_vma() + is_mergeable_anon_vma(): split pieces merge back")]
    public void FaultedVmaSplitByMprotectMergesBackWhenRestored()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        Vma whole = fx.Mm.LookupVma(0x100000)!;
        Assert.NotNull(whole.AnonVma);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x101000, Page, ProtR).Value);
        Assert.Equal(3, fx.Mm.MapCount);
        Assert.Same(whole.AnonVma, fx.Mm.LookupVma(0x101000)!.AnonVma);
        Assert.Same(whole.AnonVma, fx.Mm.LookupVma(0x102000)!.AnonVma);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x101000, Page, ProtRw).Value);
        Assert.Equal("[0x100000-0x103000 rw-p pgoff=0x100]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c is_mergeable_anon_vma(): two faulted VMAs with different anon_vmas never merge")]
    public void FillingTheHoleBetweenTwoFaultedMappingsMergesWithPrevOnly()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x102000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.NotSame(fx.Mm.LookupVma(0x100000)!.AnonVma, fx.Mm.LookupVma(0x102000)!.AnonVma);
        fx.Map(0x101000, Page);
        Assert.Equal("[0x100000-0x102000 rw-p pgoff=0x100] [0x102000-0x103000 rw-p pgoff=0x102]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/rmap.c find_mergeable_anon_vma(): a neighbour differing only in access flags shares its anon_vma")]
    public void ANeighbourDifferingOnlyInProtectionReusesTheAnonVmaSoMprotectRemerges()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x101000, Page, (ulong)Prot.Write, PrivateAnon | Fixed | Populate);
        Assert.Equal(2, fx.Mm.MapCount);
        Assert.Same(fx.Mm.LookupVma(0x100000)!.AnonVma, fx.Mm.LookupVma(0x101000)!.AnonVma);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x101000, Page, ProtRw).Value);
        Assert.Equal("[0x100000-0x102000 rw-p pgoff=0x100]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/rmap.c anon_vma_compatible(): a neighbour with other non-access flags gets a new anon_vma")]
    public void ANeighbourDifferingInOtherFlagsGetsItsOwnAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x101000, Page, ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.Stack);
        Assert.Equal(0UL, fx.Sys.Madvise(0x101000, Page, (ulong)Madvise.PopulateWrite).Value);
        Assert.NotSame(fx.Mm.LookupVma(0x100000)!.AnonVma, fx.Mm.LookupVma(0x101000)!.AnonVma);
        Assert.NotNull(fx.Mm.LookupVma(0x101000)!.AnonVma);
    }

    [Theory]
    [Trait("Linux", "mm/vma.c can_vma_merge_after(): prev->vm_pgoff + pages == pgoff")]
    [InlineData(1UL, true)]
    [InlineData(2UL, false)]
    [InlineData(0UL, false)]
    public void MergeWithPrevNeedsContiguousPgoff(ulong pgoff, bool merges)
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x1000, 0);
        fx.Builder.MergeNew(0x1000, 0x2000, pgoff, out bool merged);
        Assert.Equal(merges, merged);
        Assert.Equal(merges ? 1 : 2, fx.Mm.MapCount);
    }

    [Theory]
    [Trait("Linux", "mm/vma.c can_vma_merge_before(): next->vm_pgoff == pgoff + pglen")]
    [InlineData(4UL, true)]
    [InlineData(3UL, false)]
    [InlineData(5UL, false)]
    public void MergeWithNextNeedsContiguousPgoff(ulong pgoff, bool merges)
    {
        using var fx = new AddressSpaceFixture();
        Vma next = fx.AllocAndLink(0x2000, 0x3000, 5);
        Vma? vma = fx.Builder.MergeNew(0x1000, 0x2000, pgoff, out bool merged);
        Assert.Equal(merges, merged);
        if (merges)
        {
            Assert.Same(next, vma);
            Assert.Equal("[0x1000-0x3000 rw-p pgoff=0x4]", fx.Layout);
        }
    }

    [Fact]
    [Trait("Linux", "mm/vma.c is_mergeable_vma(): VM_SOFTDIRTY is ignored")]
    public void FlagsDifferingOnlyInSoftDirtyMerge()
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x1000, 0, Flags | VmFlags.SoftDirty);
        Vma next = fx.AllocAndLink(0x2000, 0x3000, 2);
        Assert.NotNull(fx.Builder.MergeNew(0x1000, 0x2000, 1, out bool merged));
        Assert.True(merged);
        Assert.Equal(1, fx.Mm.MapCount);
        Assert.Null(next.NextVma);
    }

    [Theory]
    [Trait("Linux", "mm/vma.c is_mergeable_vma(): every flag but VM_SOFTDIRTY must match")]
    [InlineData(VmFlags.Account)]
    [InlineData(VmFlags.Locked)]
    [InlineData(VmFlags.SeqRead)]
    [InlineData(VmFlags.Sealed)]
    [InlineData(VmFlags.DontDump)]
    public void FlagsDifferingInAnythingElseDoNotMerge(VmFlags difference)
    {
        using var fx = new AddressSpaceFixture();
        fx.AllocAndLink(0, 0x1000, 0, Flags | difference);
        Assert.Null(fx.Builder.MergeNew(0x1000, 0x2000, 1, out bool merged, linkIfUnmerged: false));
        Assert.False(merged);
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c mprotect_fixup(): a faulted VMA keeps VM_ACCOUNT, which then blocks a merge")]
    public void AReadOnlyMappingNextToAFormerlyWritableFaultedOneStaysSeparate()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 2 * Page, ProtR).Value);
        Assert.True((fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Account) != 0);
        fx.Map(0x102000, Page, ProtR);
        Assert.Equal("[0x100000-0x102000 r--p pgoff=0x100] [0x102000-0x103000 r--p pgoff=0x102]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c mprotect_fixup(): an unfaulted VMA drops VM_ACCOUNT and merges")]
    public void AReadOnlyMappingNextToAFormerlyWritableUnfaultedOneMerges()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 2 * Page, ProtR).Value);
        fx.Map(0x102000, Page, ProtR);
        Assert.Equal("[0x100000-0x103000 r--p pgoff=0x100]", fx.Layout);
        Assert.Equal(0L, fx.Mm.CommittedPages);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c split_vma(): map_count >= sysctl_max_map_count gives ENOMEM")]
    public void SplitAtTheMapCountLimitFails()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 2 });
        Vma a = fx.AllocAndLink(0, 0x3000, 0);
        Assert.Equal(Errno.None, fx.Mm.SplitVma(a, 0x1000, newBelow: false, out Vma upper));
        Assert.Equal(2, fx.Mm.MapCount);
        Assert.Equal(Errno.ENOMEM, fx.Mm.SplitVma(upper, 0x2000, newBelow: true, out _));
        Assert.Equal(Errno.ENOMEM, fx.Mm.SplitVma(upper, 0x2000, newBelow: false, out _));
        Assert.Equal("0x0-0x1000 0x1000-0x3000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vma_modify() -> split_vma(): mprotect of part of a VMA at the limit is ENOMEM")]
    public void MprotectOfPartOfAVmaAtTheMapCountLimitFails()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 2 });
        fx.Map(0x100000, 3 * Page);
        fx.Map(0x200000, Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mprotect(0x100000, Page, ProtR).Errno);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mprotect(0x101000, Page, ProtR).Errno);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 3 * Page, ProtR).Value);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vms_gather_munmap_vmas(): the first split is refused at the limit only if the end splits too")]
    public void MunmapAtTheMapCountLimitRefusesTheMiddleButNotTheHeadOrTail()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 2 });
        fx.Map(0x100000, 4 * Page);
        fx.Map(0x200000, Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Munmap(0x101000, Page).Errno);
        Assert.Equal("0x100000-0x104000 0x200000-0x201000", Layout.Ranges(fx.Mm));
        Assert.Equal(0UL, fx.Sys.Munmap(0x100000, Page).Value);
        Assert.Equal(0UL, fx.Sys.Munmap(0x103000, Page).Value);
        Assert.Equal("0x101000-0x103000 0x200000-0x201000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c do_mmap(): map_count > sysctl_max_map_count (strictly) gives ENOMEM")]
    public void MmapIsRefusedOnlyOnceTheMapCountExceedsTheLimit()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 2 });
        fx.Map(0x100000, Page);
        fx.Map(0x200000, Page);

        // At the limit a new VMA is still allowed: Linux checks map_count > max, not >=.
        Assert.Equal(0x300000UL, fx.Sys.Mmap(0x300000, Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(3, fx.Mm.MapCount);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0x400000, Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Errno);

        // A mapping that would merge is refused just the same: the check comes before any merge.
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0x101000, Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Errno);
        Assert.Equal(3, fx.Mm.MapCount);
    }
}
