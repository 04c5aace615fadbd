using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    [Theory]
    [Trait("Linux", "mm/mremap.c check_mremap_params() then check_prep_vma(), in order")]
    // Flags, alignment, new_len 0 (also after page alignment), new_len > TASK_SIZE.
    [InlineData(0x100000UL, Page, Page, 8UL, 0UL, Errno.EINVAL)]
    [InlineData(0x100001UL, Page, Page, 0UL, 0UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, 0UL, 0UL, 0UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, ulong.MaxValue, MayMove, 0UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, TaskSize + Page, MayMove, 0UL, Errno.EINVAL)]
    [InlineData(0x300000UL, Page, 0UL, MayMove | RemapFixed, 0x400000UL, Errno.EINVAL)]
    // With FIXED or DONTUNMAP: new_addr range and alignment, MAYMOVE, DONTUNMAP resizing, overlap.
    [InlineData(0x100000UL, Page, Page, MayMove | RemapFixed, TaskSize, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, Page, MayMove | RemapFixed, 0x400001UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, Page, RemapFixed, 0x400000UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, Page, DontUnmap, 0x400000UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, 2 * Page, MayMove | DontUnmap, 0x400000UL, Errno.EINVAL)]
    [InlineData(0x100000UL, 2 * Page, 2 * Page, MayMove | RemapFixed, 0x101000UL, Errno.EINVAL)]
    [InlineData(0x100000UL, 2 * Page, 2 * Page, MayMove | RemapFixed, 0xff000UL, Errno.EINVAL)]
    // The parameter checks come before the VMA lookup: no VMA at 0x300000, yet EINVAL.
    [InlineData(0x300000UL, Page, Page, RemapFixed, 0x400000UL, Errno.EINVAL)]
    // No VMA at addr: EFAULT.
    [InlineData(0x300000UL, Page, 2 * Page, MayMove, 0UL, Errno.EFAULT)]
    [InlineData(0x300000UL, Page, Page, MayMove | RemapFixed, 0x400000UL, Errno.EFAULT)]
    // old_len 0 (the shm "duplicate" case) on a private mapping.
    [InlineData(0x100000UL, 0UL, Page, MayMove, 0UL, Errno.EINVAL)]
    // Growing a range that crosses vm_end.
    [InlineData(0x100000UL, 5 * Page, 6 * Page, MayMove, 0UL, Errno.EFAULT)]
    [InlineData(0x103000UL, 2 * Page, 3 * Page, MayMove, 0UL, Errno.EFAULT)]
    // Growing in place is blocked by the next VMA and moving is not allowed.
    [InlineData(0x100000UL, 4 * Page, 5 * Page, 0UL, 0UL, Errno.ENOMEM)]
    // Growing a part that does not end at vm_end, without MAYMOVE.
    [InlineData(0x100000UL, Page, 2 * Page, 0UL, 0UL, Errno.ENOMEM)]
    // Same size: nothing to do, even across VMA boundaries; a shrink may cross them too.
    [InlineData(0x100000UL, 6 * Page, 6 * Page, 0UL, 0UL, Errno.None)]
    public void MremapArgumentChecksFollowLinuxOrder(ulong addr, ulong oldLen, ulong newLen, ulong flags, ulong newAddr, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        fx.Map(0x104000, Page, ProtR);
        string before = fx.Layout;
        SysResult r = fx.Sys.Mremap(addr, oldLen, newLen, flags, newAddr);
        Assert.Equal(expected, r.Errno);
        Assert.Equal(before, fx.Layout);
        if (expected == Errno.None)
        {
            Assert.Equal(addr, r.Value);
        }
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c shrink_vma(): a shrink unmaps the tail, across VMAs, and returns addr")]
    public void MremapShrinkUnmapsTheTailEvenAcrossVmas()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        fx.Map(0x104000, 2 * Page, ProtR);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, 6 * Page, 2 * Page, 0, 0).Value);
        Assert.Equal("[0x100000-0x102000 rw-p pgoff=0x100]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c expand_vma_in_place() -> vma_merge_extend(): growing in place merges with next")]
    public void MremapGrowingInPlaceMergesWithTheNextVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        fx.Map(0x102000, Page);
        Assert.Equal(2, fx.Mm.MapCount);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, Page, 2 * Page, 0, 0).Value);
        Assert.Equal("[0x100000-0x103000 rw-p pgoff=0x100]", fx.Layout);
        Assert.Equal(3L, fx.Mm.CommittedPages);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c expand_vma() -> vrm_set_new_addr() + move_vma(): MAYMOVE moves when growth is blocked")]
    public void MremapMayMoveMovesTheFaultedPagesAndKeepsPgoff()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x101000, Page, ProtR);
        ulong moved = fx.Sys.Mremap(0x100000, Page, 2 * Page, MayMove, 0).Value;
        Assert.Equal(MmapBase - (2 * Page), moved);
        Assert.Null(fx.Mm.LookupVma(0x100000));
        Vma vma = fx.Mm.LookupVma(moved)!;
        Assert.Equal((moved, MmapBase), (vma.Start, vma.End));

        // A faulted VMA keeps its pgoff (its pages belong to the anon_vma at their old index).
        Assert.Equal(0x100UL, vma.PgOff);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(moved, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 0 }, vec);
        Assert.Equal(2L, fx.Mm.CommittedPages);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c copy_vma(): an unfaulted anonymous VMA takes the pgoff of its new address")]
    public void MremapOfAnUnfaultedVmaRelocatesItsPgoff()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(0x500000UL, fx.Sys.Mremap(0x100000, Page, Page, MayMove | RemapFixed, 0x500000).Value);
        Assert.Equal("[0x500000-0x501000 rw-p pgoff=0x500]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c mremap_to(): MREMAP_FIXED unmaps the destination first")]
    public void MremapFixedReplacesWhatIsAtTheDestination()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x400000, 4 * Page, ProtR);
        Assert.Equal(0x401000UL, fx.Sys.Mremap(0x100000, 2 * Page, 2 * Page, MayMove | RemapFixed, 0x401000).Value);
        Assert.Equal("[0x400000-0x401000 r--p pgoff=0x400] [0x401000-0x403000 rw-p pgoff=0x100] [0x403000-0x404000 r--p pgoff=0x403]", fx.Layout);
        Assert.Equal(4UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c mremap_to(): FIXED with a different size shrinks or grows at the destination")]
    public void MremapFixedCanResize()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        // The tail [addr + new_len, addr + old_len) is unmapped first, then the rest moves.
        Assert.Equal(0x400000UL, fx.Sys.Mremap(0x100000, 4 * Page, 2 * Page, MayMove | RemapFixed, 0x400000).Value);
        Assert.Equal("0x400000-0x402000", Layout.Ranges(fx.Mm));
        Assert.Equal(0x500000UL, fx.Sys.Mremap(0x400000, 2 * Page, 3 * Page, MayMove | RemapFixed, 0x500000).Value);
        Assert.Equal("[0x500000-0x503000 rw-p pgoff=0x500]", fx.Layout);
        Assert.Equal(3UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c dontunmap_complete(): the source stays mapped, emptied and unlocked")]
    public void MremapDontUnmapLeavesAnEmptySourceAndMovesThePages()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, PrivateAnon | Fixed | Locked);
        Assert.Equal(0x400000UL, fx.Sys.Mremap(0x100000, 2 * Page, 2 * Page, MayMove | DontUnmap, 0x400000).Value);
        Vma src = fx.Mm.LookupVma(0x100000)!;
        Vma dst = fx.Mm.LookupVma(0x400000)!;
        Assert.Equal(VmFlags.None, src.Flags & VmFlags.LockedMask);
        Assert.Equal(VmFlags.Locked, dst.Flags & VmFlags.LockedMask);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(0UL, fx.Sys.Mincore(0x400000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 0, 1, 1 }, vec);
        Assert.Equal(4UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c remap_move() (6.17+): a pure move spans several VMAs and keeps the gaps")]
    public void MremapPureMoveOfSeveralVmasKeepsTheGapsBetweenThem()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        fx.Map(0x102000, Page, ProtR);
        Assert.Equal(0x400000UL, fx.Sys.Mremap(0x100000, 3 * Page, 3 * Page, MayMove | RemapFixed, 0x400000).Value);
        Assert.Equal("[0x400000-0x401000 rw-p pgoff=0x400] [0x402000-0x403000 r--p pgoff=0x402]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c remap_move(): the range must start in a VMA")]
    public void MremapPureMoveStartingInAHoleIsEfault()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x101000, Page);
        Assert.Equal(Errno.EFAULT, fx.Sys.Mremap(0x100000, 2 * Page, 2 * Page, MayMove | RemapFixed, 0x400000).Errno);
        Assert.Equal("0x101000-0x102000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c check_prep_vma(): mlock_future_ok() for a locked VMA's growth is EAGAIN")]
    public void MremapGrowingALockedVmaBeyondTheLimitIsEagain()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 8 * MiB, ProtRw, PrivateAnon | Fixed | Locked);
        Assert.Equal(Errno.EAGAIN, fx.Sys.Mremap(0x100000, 8 * MiB, (8 * MiB) + Page, MayMove, 0).Errno);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, 8 * MiB, 4 * MiB, 0, 0).Value);
        Assert.Equal(1024UL, fx.Mm.LockedVm);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c check_prep_vma(): a grown locked VMA is populated (populate_expand)")]
    public void MremapGrowingALockedVmaPopulatesTheNewPart()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Locked);
        Assert.Equal(0x100000UL, fx.Sys.Mremap(0x100000, Page, 3 * Page, 0, 0).Value);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 3 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 1, 1 }, vec);
        Assert.Equal(3UL, fx.Mm.LockedVm);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c dontunmap_complete(): unlink_anon_vmas() when the entire VMA was copied over")]
    public void MremapDontUnmapOfAWholeVmaDropsTheSourcesAnonVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.Equal(0x400000UL, fx.Sys.Mremap(0x100000, Page, Page, MayMove | DontUnmap, 0x400000).Value);
        Assert.Null(fx.Mm.LookupVma(0x100000)!.AnonVma);

        // Observable: with no anon_vma left, the emptied source is compatible with a faulted VMA two pages up,
        // so filling the hole between them merges all three.
        fx.Map(0x102000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x101000, Page);
        Assert.Equal("0x100000-0x103000 0x400000-0x401000", Layout.Ranges(fx.Mm));
    }
}
