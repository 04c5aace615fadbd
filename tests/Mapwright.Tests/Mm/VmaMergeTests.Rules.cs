using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed partial class VmaMergeTests
{
    [Fact]
    [Trait("Linux", "mm/vma.c __split_vma(): the new VMA clones the anon_vma (anon_vma_clone)")]
    public void SplitHalvesShareTheAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        var dummy = new AnonVma();
        Vma vma = fx.AllocAndLink(0, 0x3000, 0, anon: dummy);
        Assert.Equal(Errno.None, VmaOps.SplitVma(fx.Mm, vma, 0x1000, newBelow: true, out Vma below));
        Assert.Equal(Errno.None, VmaOps.SplitVma(fx.Mm, vma, 0x2000, newBelow: false, out Vma above));
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
        Assert.Equal(Errno.None, VmaOps.SplitVma(fx.Mm, a, 0x1000, newBelow: false, out Vma upper));
        Assert.Equal(2, fx.Mm.MapCount);
        Assert.Equal(Errno.ENOMEM, VmaOps.SplitVma(fx.Mm, upper, 0x2000, newBelow: true, out _));
        Assert.Equal(Errno.ENOMEM, VmaOps.SplitVma(fx.Mm, upper, 0x2000, newBelow: false, out _));
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
    [Trait("Linux", "mm/vma.c vma_modify(): the leading split_vma() is not undone when the trailing one fails")]
    public void ModifyWithRoomForOneSplitLeavesTheFirstSplitAndFails()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 2 });
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mprotect(0x101000, Page, ProtR).Errno);
        Assert.Equal("[0x100000-0x101000 rw-p pgoff=0x100] [0x101000-0x103000 rw-p pgoff=0x101]", fx.Layout);
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
