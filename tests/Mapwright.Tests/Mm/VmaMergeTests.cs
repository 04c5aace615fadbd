using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Mapwright.Vfs;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed partial class VmaMergeTests
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
}
