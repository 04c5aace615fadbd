using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    [Fact]
    [Trait("Linux", "mm/mmap.c may_expand_vm(): RLIMIT_AS counts only the pages a MAP_FIXED mapping adds")]
    public void RlimitAsCountsOnlyTheNewPages()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { RlimitAs = 4 * Page });
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(0x100000UL, fx.Sys.Mmap(0x100000, 4 * Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0x200000, Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Errno);
        Assert.Equal(0x101000UL, fx.Sys.Mmap(0x101000, 3 * Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mremap(0x100000, 4 * Page, 5 * Page, MayMove, 0).Errno);
        Assert.Equal(4UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c may_expand_vm(): RLIMIT_DATA limits private writable mappings only")]
    public void RlimitDataLimitsPrivateWritableMappings()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { RlimitData = 4 * Page });
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0x100000, 5 * Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Errno);
        fx.Map(0x100000, 5 * Page, ProtR);
        fx.Map(0x200000, 5 * Page, ProtRw, SharedAnon | Fixed);

        // mprotect_fixup(): turning the read-only mapping into data is refused the same way.
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mprotect(0x100000, 5 * Page, ProtRw).Errno);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 4 * Page, ProtRw).Value);
        Assert.Equal(4UL, fx.Mm.DataVm);
    }

    [Theory]
    [Trait("Linux", "mm/util.c __vm_enough_memory() OVERCOMMIT_GUESS: one request beyond RAM + swap is ENOMEM")]
    [InlineData(ProtRw, PrivateAnon | Fixed, Errno.ENOMEM)]
    [InlineData(ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.NoReserve, Errno.None)]
    [InlineData(ProtR, PrivateAnon | Fixed, Errno.None)]
    [InlineData(ProtRw, SharedAnon | Fixed, Errno.None)]
    public void HeuristicOvercommitRefusesOneRequestLargerThanRamAndSwap(ulong prot, ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture(new MmConfig { TotalRamPages = 1024, TotalSwapPages = 1024 });
        Assert.Equal(expected, fx.Sys.Mmap(0x10000000, 2049 * Page, prot, flags, NoFd, 0).Errno);
        Assert.Equal(0x20000000UL, fx.Sys.Mmap(0x20000000, 2048 * Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area(): bottom-up placement skips a gap ending in a grows-down VMA's guard gap")]
    public void BottomUpPlacementSkipsTheGuardGapOfAGrowsDownVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Mm.TopDown = false;
        ulong stack = 0x2aaaaaaab000 + 0x80000;
        fx.Map(stack, Page, ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.GrowsDown);
        Assert.Equal(stack + Page, fx.Sys.Mmap(0, Page, ProtR, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c prep_move_vma(): a move needs map_count < max_map_count - 3")]
    public void MremapMoveNeedsHeadroomBelowTheMapCountLimit()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 7 });
        fx.Map(0x100000, Page);
        fx.Map(0x101000, Page, ProtR);
        fx.Map(0x200000, Page, ProtR);
        fx.Map(0x300000, Page, ProtR);

        // Growth is blocked by the next VMA, so this is a move: 4 >= 7 - 3.
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mremap(0x100000, Page, 2 * Page, MayMove, 0).Errno);
        Assert.Equal(0UL, fx.Sys.Munmap(0x300000, Page).Value);
        Assert.Equal(MmapBase - (2 * Page), fx.Sys.Mremap(0x100000, Page, 2 * Page, MayMove, 0).Value);

        // check_mremap_params(): with FIXED, map_count + 2 must stay below max - 3 as well (3 + 2 >= 4).
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mremap(0x200000, Page, Page, MayMove | RemapFixed, 0x400000).Errno);
        Assert.Equal("0x101000-0x102000 0x200000-0x201000 0x7ffff7ffd000-0x7ffff7fff000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_vma_behavior(): a split failing for ENOMEM is reported as EAGAIN")]
    public void MadviseThatCannotSplitAtTheMapCountLimitIsEagain()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 1 });
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(Errno.EAGAIN, fx.Sys.Madvise(0x101000, Page, (ulong)Madvise.Random).Errno);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mlock(0x101000, Page).Errno);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mseal(0x101000, Page, 0).Errno);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, 3 * Page, (ulong)Madvise.Random).Value);
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vms_gather_munmap_vmas() from mmap_region(): MAP_FIXED into a VMA's middle at the limit")]
    public void MapFixedIntoTheMiddleOfAVmaAtTheMapCountLimitIsEnomem()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { MaxMapCount = 1 });
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0x101000, Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Errno);
        Assert.Equal("[0x100000-0x103000 rw-p pgoff=0x100]", fx.Layout);
        Assert.Equal(0x100000UL, fx.Sys.Mmap(0x100000, Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/gup.c populate_vma_page_range(): PROT_NONE is never faulted in, so mlock reports ENOMEM")]
    public void MlockOfProtNoneLocksTheVmaButReportsEnomem()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtNone);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mlock(0x100000, 2 * Page).Errno);
        Assert.True((fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Locked) != 0);
        Assert.Equal(2UL, fx.Mm.LockedVm);
        Assert.Equal(0UL, fx.Sys.Mlock2(0x100000, 2 * Page, 1).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c: old_len 0 on a shared mapping duplicates it (the DOS-emu case)")]
    public void MremapWithOldLengthZeroDuplicatesASharedMapping()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, SharedAnon | Fixed);
        ulong dup = fx.Sys.Mremap(0x100000, 0, 2 * Page, MayMove, 0).Value;
        Assert.Equal(MmapBase - (2 * Page), dup);
        Vma src = fx.Mm.LookupVma(0x100000)!;
        Vma copy = fx.Mm.LookupVma(dup)!;
        Assert.Equal((0x100000UL, 0x102000UL), (src.Start, src.End));
        Assert.Same(src.File, copy.File);
        Assert.Equal(4UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c copy_vma(): only vma_is_anonymous() VMAs take addr >> PAGE_SHIFT; shmem_zero_setup() sets vm_ops")]
    public void MremapDuplicateOfASharedMappingMapsTheSameFileOffset()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, SharedAnon | Fixed);
        ulong dup = fx.Sys.Mremap(0x101000, 0, Page, MayMove, 0).Value;
        Assert.Equal(1UL, fx.Mm.LookupVma(dup)!.PgOff);
        Assert.False(fx.Mm.LookupVma(dup)!.IsAnonymous);
    }

    [Fact]
    [Trait("Linux", "mm/shmem.c shmem_zero_setup() (vm_ops = &shmem_anon_vm_ops) and shmem_fault(): shared memory lives in the shmem page cache")]
    public void SharedAnonymousMemoryFaultsInShmemPages()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, SharedAnon | Fixed);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, Page, (ulong)Madvise.PopulateWrite).Value);
        Vma vma = fx.Mm.LookupVma(0x100000)!;
        Assert.Null(vma.AnonVma);
        Assert.True(fx.Mm.Pages.TryGet(0x100, out Mapwright.Paging.PteKind kind));
        Assert.Equal(Mapwright.Paging.PteKind.FilePage, kind);
        Assert.True(vma.File!.PageCache.Contains(0));
    }

    [Fact]
    [Trait("Linux", "mm/khugepaged.c madvise_collapse(): thp_vma_allowable_order() fails when no aligned PMD fits the VMA")]
    public void MadviseCollapseOnAVmaSmallerThanAHugePageIsEinval()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(Errno.EINVAL, fx.Sys.Madvise(0x100000, 4 * Page, (ulong)Madvise.Collapse).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c ksys_mmap_pgoff() (hugetlb_file_setup with VM_NORESERVE); mm/hugetlb.c hugetlb_reserve_pages()")]
    public void MapHugetlbWithNoReserveSucceedsWithoutHugePages()
    {
        using var fx = new AddressSpaceFixture();
        ulong flags = PrivateAnon | (ulong)(MapFlags.HugeTlb | MapFlags.NoReserve);
        SysResult r = fx.Sys.Mmap(0, 2 * MiB, ProtRw, flags, NoFd, 0);
        Assert.False(r.IsError, r.ToString());
    }

    [Theory]
    [Trait("Linux", "mm/mmap.c do_mmap() checks precede hugetlbfs_file_mmap() -> hugetlb_reserve_pages()")]
    [InlineData((ulong)MapFlags.Anonymous, Errno.EINVAL)]
    [InlineData(SharedAnon | (ulong)MapFlags.GrowsDown, Errno.EINVAL)]
    [InlineData(PrivateAnon | FixedNoReplace, Errno.EEXIST)]
    [InlineData(PrivateAnon | Fixed, Errno.ENOMEM)]
    public void MapHugetlbArgumentErrorsComeBeforeTheReservation(ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x200000, Page);
        Assert.Equal(expected, fx.Sys.Mmap(0x200000, 2 * MiB, ProtRw, flags | (ulong)MapFlags.HugeTlb, NoFd, 0).Errno);
    }

    [Fact(Skip = "BUG: anonymous MAP_HUGETLB with MAP_SHARED_VALIDATE is EINVAL; Linux maps the hugetlbfs file it made")]
    [Trait("Linux", "mm/mmap.c ksys_mmap_pgoff() makes a hugetlbfs file, so do_mmap() takes the file branch (MAP_SHARED_VALIDATE ok)")]
    public void AnonymousHugetlbAcceptsMapSharedValidate()
    {
        using var fx = new AddressSpaceFixture();
        ulong flags = (ulong)(MapFlags.SharedValidate | MapFlags.Anonymous | MapFlags.HugeTlb | MapFlags.NoReserve);
        SysResult r = fx.Sys.Mmap(0, 2 * MiB, ProtRw, flags, NoFd, 0);
        Assert.False(r.IsError, r.ToString());

        // Without MAP_NORESERVE the empty pool makes it ENOMEM, not EINVAL.
        flags &= ~(ulong)MapFlags.NoReserve;
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mmap(0, 2 * MiB, ProtRw, flags, NoFd, 0).Errno);
    }
}
