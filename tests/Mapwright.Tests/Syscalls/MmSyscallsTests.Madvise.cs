using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    private static ulong Advice(Madvise advice) => (ulong)advice;

    [Theory]
    [Trait("Linux", "mm/madvise.c is_valid_madvise(), madvise_should_skip(), madvise_inject_error(), madvise_walk_vmas()")]
    // Unknown advice (5, 6, 7 have never been defined), checked before the alignment.
    [InlineData(0x100000UL, Page, 5UL, Errno.EINVAL)]
    [InlineData(0x100001UL, Page, 7UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, 26UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, 0x100000004UL, Errno.None)]
    [InlineData(0x100001UL, Page, 4UL, Errno.EINVAL)]
    // A length that rounds up from a small negative value to 0, and a wrapping range.
    [InlineData(0x100000UL, ulong.MaxValue, 4UL, Errno.EINVAL)]
    [InlineData(0xfffffffffffff000UL, 2 * Page, 4UL, Errno.EINVAL)]
    // len 0 is success even on a hole; with a bad advice it is still EINVAL.
    [InlineData(0x300000UL, 0UL, 4UL, Errno.None)]
    [InlineData(0x300000UL, 0UL, 5UL, Errno.EINVAL)]
    // Memory-failure injection needs CAP_SYS_ADMIN: EPERM, before looking at VMAs.
    [InlineData(0x300000UL, Page, 100UL, Errno.EPERM)]
    [InlineData(0x100000UL, Page, 101UL, Errno.EPERM)]
    // Holes: wholly unmapped, starting in a hole, ending in a hole.
    [InlineData(0x300000UL, Page, 4UL, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, 4UL, Errno.ENOMEM)]
    [InlineData(0x101000UL, 2 * Page, 4UL, Errno.ENOMEM)]
    [InlineData(0x100000UL, 2 * Page, 3UL, Errno.None)]
    public void MadviseArgumentChecksFollowLinuxOrder(ulong addr, ulong len, ulong advice, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(expected, fx.Sys.Madvise(addr, len, advice).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_walk_vmas(): holes are skipped, the mapped part is done, then ENOMEM")]
    public void MadviseDontNeedOverAHoleZapsTheMappedPartThenFails()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        fx.Map(0x103000, 2 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Madvise(0x101000, 3 * Page, Advice(Madvise.DontNeed)).Errno);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(0UL, fx.Sys.Mincore(0x103000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 0, 0, 1 }, vec);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_dontneed_free_valid_vma(): VM_LOCKED is EINVAL for DONTNEED, not DONTNEED_LOCKED")]
    public void MadviseDontNeedOnALockedVmaIsEinval()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, ProtRw, PrivateAnon | Fixed | Locked);
        Assert.Equal(Errno.EINVAL, fx.Sys.Madvise(0x100000, 2 * Page, Advice(Madvise.DontNeed)).Errno);
        Assert.Equal(Errno.EINVAL, fx.Sys.Madvise(0x100000, 2 * Page, Advice(Madvise.Free)).Errno);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 1 }, vec);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, Page, Advice(Madvise.DontNeedLocked)).Value);
        vec.Clear();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 1 }, vec);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_update_vma(): flag advice splits the VMA into lines that look alike")]
    public void MadviseRandomOnTheMiddleSplitsIntoThree()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(0UL, fx.Sys.Madvise(0x101000, Page, Advice(Madvise.Random)).Value);
        Assert.Equal("[0x100000-0x101000 rw-p pgoff=0x100] [0x101000-0x102000 rw-p pgoff=0x101] [0x102000-0x103000 rw-p pgoff=0x102]", fx.Layout);
        Assert.True((fx.Mm.LookupVma(0x101000)!.Flags & VmFlags.RandRead) != 0);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, 3 * Page, Advice(Madvise.Normal)).Value);
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_vma_behavior(): MADV_WIPEONFORK is EINVAL on shared memory")]
    public void MadviseWipeOnForkOnSharedMemoryIsEinval()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, SharedAnon | Fixed);
        Assert.Equal(Errno.EINVAL, fx.Sys.Madvise(0x100000, Page, Advice(Madvise.WipeOnFork)).Errno);
        fx.Map(0x200000, Page);
        Assert.Equal(0UL, fx.Sys.Madvise(0x200000, Page, Advice(Madvise.WipeOnFork)).Value);
        Assert.True((fx.Mm.LookupVma(0x200000)!.Flags & VmFlags.WipeOnFork) != 0);
    }

    [Theory]
    [Trait("Linux", "mm/gup.c __get_user_pages() FOLL_MADV_POPULATE: no VMA ENOMEM, bad permissions EINVAL")]
    [InlineData(ProtR, Madvise.PopulateWrite, Errno.EINVAL)]
    [InlineData(ProtNone, Madvise.PopulateRead, Errno.EINVAL)]
    [InlineData(ProtR, Madvise.PopulateRead, Errno.None)]
    [InlineData(ProtRw, Madvise.PopulateWrite, Errno.None)]
    public void MadvisePopulateChecksPermissions(ulong prot, Madvise advice, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page, prot);
        Assert.Equal(expected, fx.Sys.Madvise(0x100000, 2 * Page, Advice(advice)).Errno);

        // From the last page into the hole: the VMA's check comes first, then the missing VMA.
        Assert.Equal(expected == Errno.None ? Errno.ENOMEM : expected, fx.Sys.Madvise(0x101000, 2 * Page, Advice(advice)).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_populate(): pages are faulted in up to a hole, then ENOMEM")]
    public void MadvisePopulateWriteFaultsInPagesUpToAHole()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Madvise(0x100000, 3 * Page, Advice(Madvise.PopulateWrite)).Errno);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 1 }, vec);
        Assert.NotNull(fx.Mm.LookupVma(0x100000)!.AnonVma);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_free_single_vma(): MADV_FREE on private anonymous memory")]
    public void MadviseFreeOnPrivateAnonymousMemorySucceeds()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, Page, Advice(Madvise.Free)).Value);
    }

    [Fact]
    [Trait("Linux", "mm/madvise.c madvise_free_single_vma(): !vma_is_anonymous() is EINVAL; shmem_zero_setup() sets vm_ops")]
    public void MadviseFreeOnSharedAnonymousMemoryIsEinval()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, SharedAnon | Fixed | Populate);
        Assert.Equal(Errno.EINVAL, fx.Sys.Madvise(0x100000, Page, Advice(Madvise.Free)).Errno);
    }
}
