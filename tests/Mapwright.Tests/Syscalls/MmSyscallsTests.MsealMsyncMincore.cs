using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    private const ulong MsAsync = 1;
    private const ulong MsInvalidate = 2;
    private const ulong MsSync = 4;

    [Theory]
    [Trait("Linux", "mm/mseal.c do_mseal(): flags, alignment, length, then range_contains_unmapped()")]
    [InlineData(0x100000UL, Page, 1UL, Errno.EINVAL)]
    [InlineData(0x100001UL, Page, 0UL, Errno.EINVAL)]
    [InlineData(0x100000UL, ulong.MaxValue, 0UL, Errno.EINVAL)]
    [InlineData(0xfffffffffffff000UL, 2 * Page, 0UL, Errno.EINVAL)]
    [InlineData(0x300000UL, 0UL, 0UL, Errno.None)]
    [InlineData(0x300000UL, Page, 0UL, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, 0UL, Errno.ENOMEM)]
    [InlineData(0x100000UL, 3 * Page, 0UL, Errno.ENOMEM)]
    [InlineData(0x100000UL, 2 * Page, 0UL, Errno.None)]
    public void MsealArgumentChecks(ulong addr, ulong len, ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(expected, fx.Sys.Mseal(addr, len, flags).Errno);

        // A failed mseal seals nothing (the hole check runs before any change).
        bool sealedNow = (fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Sealed) != 0;
        Assert.Equal(expected == Errno.None && len != 0 && addr == 0x100000, sealedNow);
    }

    [Fact]
    [Trait("Linux", "mm/mseal.c: a sealed VMA refuses munmap, mprotect, mremap and MAP_FIXED with EPERM")]
    public void ASealedVmaCannotBeUnmappedReprotectedRemappedOrReplaced()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(0UL, fx.Sys.Mseal(0x100000, 2 * Page, 0).Value);
        string before = fx.Layout;
        Assert.Equal(Errno.EPERM, fx.Sys.Munmap(0x100000, 2 * Page).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Munmap(0x101000, Page).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mprotect(0x100000, Page, ProtR).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mprotect(0x100000, Page, ProtRw).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mremap(0x100000, 2 * Page, Page, 0, 0).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mremap(0x100000, 2 * Page, 2 * Page, MayMove | RemapFixed, 0x400000).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mmap(0x100000, Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Errno);
        Assert.Equal(Errno.EEXIST, fx.Sys.Mmap(0x100000, Page, ProtR, PrivateAnon | FixedNoReplace, NoFd, 0).Errno);
        Assert.Equal(before, fx.Layout);

        // Sealing again is allowed; discarding writable memory and mlock are not modifications mseal forbids.
        Assert.Equal(0UL, fx.Sys.Mseal(0x100000, 2 * Page, 0).Value);
        Assert.Equal(0UL, fx.Sys.Madvise(0x100000, 2 * Page, (ulong)Madvise.DontNeed).Value);
        Assert.Equal(0UL, fx.Sys.Mlock(0x100000, Page).Value);
        Assert.Equal(2, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/mseal.c; mm/vma.c vms_gather_munmap_vmas(): a munmap including a sealed VMA unmaps nothing")]
    public void MunmapOfARangeIncludingASealedVmaUnmapsNothing()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x102000, 2 * Page, ProtR);
        Assert.Equal(0UL, fx.Sys.Mseal(0x102000, 2 * Page, 0).Value);
        Assert.Equal(Errno.EPERM, fx.Sys.Munmap(0x100000, 4 * Page).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Munmap(0x101000, 2 * Page).Errno);
        Assert.Equal(4UL, fx.Mm.TotalVm);
        Assert.NotNull(fx.Mm.LookupVma(0x100000));
        Assert.NotNull(fx.Mm.LookupVma(0x101000));
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c mprotect_fixup() vma_is_sealed(): VMAs before the sealed one are changed")]
    public void MprotectUpToASealedVmaChangesTheVmasBeforeIt()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x102000, 2 * Page, ProtR);
        Assert.Equal(0UL, fx.Sys.Mseal(0x102000, 2 * Page, 0).Value);
        Assert.Equal(Errno.EPERM, fx.Sys.Mprotect(0x100000, 4 * Page, ProtR).Errno);
        Assert.Equal("[0x100000-0x102000 r--p pgoff=0x100] [0x102000-0x104000 r--p pgoff=0x102]", fx.Layout);
    }

    [Theory]
    [Trait("Linux", "mm/madvise.c can_madvise_modify(): discards of sealed read-only private anonymous memory are EPERM")]
    [InlineData(ProtR, PrivateAnon, Madvise.DontNeed, Errno.EPERM)]
    [InlineData(ProtR, PrivateAnon, Madvise.Free, Errno.EPERM)]
    [InlineData(ProtR, PrivateAnon, Madvise.DontFork, Errno.EPERM)]
    [InlineData(ProtR, PrivateAnon, Madvise.WillNeed, Errno.None)]
    [InlineData(ProtR, PrivateAnon, Madvise.Random, Errno.None)]
    [InlineData(ProtRw, PrivateAnon, Madvise.DontNeed, Errno.None)]
    [InlineData(ProtR, SharedAnon, Madvise.DontNeed, Errno.None)]
    public void MadviseDiscardOfSealedReadOnlyAnonymousMemoryIsEperm(ulong prot, ulong type, Madvise advice, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, prot, type | Fixed | Populate);
        Assert.Equal(0UL, fx.Sys.Mseal(0x100000, Page, 0).Value);
        Assert.Equal(expected, fx.Sys.Madvise(0x100000, Page, (ulong)advice).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/mseal.c mseal_apply(): sealing part of a VMA splits it")]
    public void MsealOfPartOfAVmaSplitsIt()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(0UL, fx.Sys.Mseal(0x101000, Page, 0).Value);
        Assert.Equal(3, fx.Mm.MapCount);
        Assert.Equal(0UL, fx.Sys.Munmap(0x100000, Page).Value);
        Assert.Equal(0UL, fx.Sys.Munmap(0x102000, Page).Value);
        Assert.Equal("[0x101000-0x102000 rw-p pgoff=0x101]", fx.Layout);
    }

    [Theory]
    [Trait("Linux", "mm/msync.c msync(): flags, alignment, ASYNC|SYNC, overflow, holes, MS_INVALIDATE on VM_LOCKED")]
    [InlineData(0x100000UL, Page, 8UL, Errno.EINVAL)]
    [InlineData(0x100001UL, Page, MsSync, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, MsAsync | MsSync, Errno.EINVAL)]
    [InlineData(0xfffffffffffff000UL, 2 * Page, MsSync, Errno.ENOMEM)]
    [InlineData(0x300000UL, 0UL, MsSync, Errno.None)]
    [InlineData(0x100000UL, Page, 0UL, Errno.None)]
    [InlineData(0x100000UL, Page, MsAsync, Errno.None)]
    [InlineData(0x100000UL, 2 * Page, MsSync | MsInvalidate, Errno.None)]
    [InlineData(0x300000UL, Page, MsSync, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, MsAsync, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, MsSync, Errno.ENOMEM)]
    [InlineData(0x100000UL, 6 * Page, MsSync, Errno.ENOMEM)]
    [InlineData(0x100000UL, 5 * Page, MsSync, Errno.ENOMEM)]
    [InlineData(0x100000UL, 5 * Page, MsAsync | MsInvalidate, Errno.EBUSY)]
    [InlineData(0x100000UL, 5 * Page, MsInvalidate, Errno.EBUSY)]
    [InlineData(0x104000UL, Page, MsSync | MsInvalidate, Errno.EBUSY)]
    [InlineData(0x104000UL, Page, MsAsync, Errno.None)]
    public void MsyncChecks(ulong addr, ulong len, ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x104000, Page, ProtRw, PrivateAnon | Fixed | Locked);
        Assert.Equal(expected, fx.Sys.Msync(addr, len, flags).Errno);
    }

    [Theory]
    [Trait("Linux", "mm/mincore.c mincore(): alignment EINVAL, access_ok ENOMEM, holes ENOMEM, len 0 nothing")]
    [InlineData(0x100001UL, Page, Errno.EINVAL)]
    [InlineData(0x300000UL, 0UL, Errno.None)]
    [InlineData(0x300000UL, Page, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, Errno.ENOMEM)]
    [InlineData(0x101000UL, 2 * Page, Errno.ENOMEM)]
    [InlineData(0x7ffffffff000UL, 1UL, Errno.ENOMEM)]
    [InlineData(0xfffffffffffff000UL, 2 * Page, Errno.ENOMEM)]
    [InlineData(0x100000UL, 1UL, Errno.None)]
    [InlineData(0x100000UL, 2 * Page, Errno.None)]
    public void MincoreChecks(ulong addr, ulong len, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(expected, fx.Sys.Mincore(addr, len, true, []).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/mincore.c mincore(): copy_to_user failure is EFAULT, a hole is found first")]
    public void MincoreWithAnUnwritableVectorIsEfaultOnMappedMemory()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(Errno.EFAULT, fx.Sys.Mincore(0x100000, Page, false, null).Errno);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mincore(0x300000, Page, false, null).Errno);
        Assert.Equal(0UL, fx.Sys.Mincore(0x300000, 0, false, null).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mincore.c mincore_pte_range(): one byte per page, 1 for present PTEs")]
    public void MincoreReportsResidencyPerPage()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(0UL, fx.Sys.Madvise(0x101000, Page, (ulong)Madvise.PopulateWrite).Value);
        Assert.Equal(0UL, fx.Sys.Madvise(0x103000, Page, (ulong)Madvise.PopulateRead).Value);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, (3 * Page) + 1, true, vec).Value);
        Assert.Equal(new byte[] { 0, 1, 0, 1 }, vec);
    }
}
