using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    private const ulong McCurrent = 1;
    private const ulong McFuture = 2;
    private const ulong McOnFault = 4;

    [Theory]
    [Trait("Linux", "mm/mlock.c do_mlock() and apply_vma_lock_flags()")]
    [InlineData(0x100000UL, 0UL, Errno.None)]
    [InlineData(0x300000UL, 0UL, Errno.None)]
    [InlineData(0x300000UL, Page, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, Errno.ENOMEM)]
    [InlineData(0x100fffUL, 2UL, Errno.ENOMEM)]
    [InlineData(0x100001UL, 2UL, Errno.None)]
    [InlineData(0x100000UL, (8 * MiB) + Page, Errno.ENOMEM)]
    // The aligned length wraps to 0: nothing to lock, success.
    [InlineData(0x100000UL, ulong.MaxValue, Errno.None)]
    public void MlockArgumentChecks(ulong addr, ulong len, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(expected, fx.Sys.Mlock(addr, len).Errno);
    }

    [Theory]
    [Trait("Linux", "mm/mlock.c mlock2(): flags other than MLOCK_ONFAULT are EINVAL")]
    [InlineData(2UL, Errno.EINVAL)]
    [InlineData(3UL, Errno.EINVAL)]
    [InlineData(0x80000000UL, Errno.EINVAL)]
    [InlineData(0UL, Errno.None)]
    [InlineData(1UL, Errno.None)]
    public void Mlock2Flags(ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(expected, fx.Sys.Mlock2(0x100000, Page, flags).Errno);
        Assert.Equal(expected == Errno.None ? 1UL : 0UL, fx.Mm.LockedVm);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c apply_vma_lock_flags(): VMAs before a hole are locked, then ENOMEM")]
    public void MlockOverAHoleLocksTheMappedPartThenFails()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x103000, Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mlock(0x100000, 4 * Page).Errno);
        Assert.True((fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Locked) != 0);
        Assert.True((fx.Mm.LookupVma(0x103000)!.Flags & VmFlags.Locked) == 0);
        Assert.Equal(2UL, fx.Mm.LockedVm);

        // do_mlock() returns before __mm_populate(): the locked part was not faulted in.
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 0 }, vec);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c do_mlock(): the range is populated; munlock merges it back")]
    public void MlockPopulatesAndMunlockMergesBack()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page);
        Assert.Equal(0UL, fx.Sys.Mlock(0x101000, Page).Value);
        Assert.Equal(3, fx.Mm.MapCount);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 3 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 1, 0 }, vec);
        Assert.Equal(0UL, fx.Sys.Munlock(0x101000, Page).Value);
        Assert.Equal(0UL, fx.Mm.LockedVm);

        // The locked page was faulted (anon_vma), the others were not: still compatible, one VMA again.
        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c mlock2(MLOCK_ONFAULT): VM_LOCKONFAULT, nothing populated")]
    public void Mlock2OnFaultDoesNotPopulate()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(0UL, fx.Sys.Mlock2(0x100000, 2 * Page, 1).Value);
        Assert.Equal(VmFlags.LockedMask, fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.LockedMask);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 0 }, vec);
        Assert.Equal(2UL, fx.Mm.LockedVm);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c do_mlock() count_mm_mlocked_page_nr(): already locked pages are not counted twice")]
    public void MlockOfARangeThatIsPartlyLockedCountsOnlyTheNewPages()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x1000000, 8 * MiB);
        Assert.Equal(0UL, fx.Sys.Mlock(0x1000000, 6 * MiB).Value);
        Assert.Equal(0UL, fx.Sys.Mlock(0x1000000, 8 * MiB).Value);
        Assert.Equal(2048UL, fx.Mm.LockedVm);
        fx.Map(0x2000000, Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mlock(0x2000000, Page).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c can_do_mlock(): RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK is EPERM")]
    public void MlockWithAZeroLimitIsEperm()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { RlimitMemlock = 0 });
        fx.Map(0x100000, Page);
        Assert.Equal(Errno.EPERM, fx.Sys.Mlock(0x100000, Page).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mlock(0x300000, 0).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mlockall(McCurrent).Errno);
        Assert.Equal(Errno.EINVAL, fx.Sys.Mlockall(0).Errno);
        Assert.Equal(Errno.EPERM, fx.Sys.Mmap(0x200000, Page, ProtRw, PrivateAnon | Fixed | Locked, NoFd, 0).Errno);
        Assert.Equal(0UL, fx.Sys.Munlock(0x100000, Page).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c: CAP_IPC_LOCK lifts RLIMIT_MEMLOCK")]
    public void MlockWithCapIpcLockIgnoresTheLimit()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { CapIpcLock = true });
        fx.Map(0x1000000, 9 * MiB);
        Assert.Equal(0UL, fx.Sys.Mlock(0x1000000, 9 * MiB).Value);
        Assert.Equal(2304UL, fx.Mm.LockedVm);
    }

    [Theory]
    [Trait("Linux", "mm/mlock.c mlockall(): flags 0, unknown bits, or MCL_ONFAULT alone are EINVAL")]
    [InlineData(0UL, Errno.EINVAL)]
    [InlineData(8UL, Errno.EINVAL)]
    [InlineData(McOnFault, Errno.EINVAL)]
    [InlineData(McCurrent | 8UL, Errno.EINVAL)]
    [InlineData(McCurrent, Errno.None)]
    [InlineData(McFuture, Errno.None)]
    [InlineData(McCurrent | McOnFault, Errno.None)]
    [InlineData(McFuture | McOnFault, Errno.None)]
    public void MlockallFlags(ulong flags, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page);
        Assert.Equal(expected, fx.Sys.Mlockall(flags).Errno);
        bool current = expected == Errno.None && (flags & McCurrent) != 0;
        Assert.Equal(current, (fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Locked) != 0);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c mlockall(MCL_CURRENT): total_vm beyond RLIMIT_MEMLOCK is ENOMEM")]
    public void MlockallCurrentBeyondTheLimitIsEnomem()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x1000000, 8 * MiB);
        fx.Map(0x2000000, Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mlockall(McCurrent).Errno);
        Assert.Equal(0UL, fx.Mm.LockedVm);
        Assert.Equal(0UL, fx.Sys.Mlockall(McFuture).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c apply_mlockall_flags(MCL_FUTURE): mm->def_flags gets VM_LOCKED")]
    public void MlockallFutureLocksLaterMappingsAndMunlockallUndoesIt()
    {
        using var fx = new AddressSpaceFixture();
        Assert.Equal(0UL, fx.Sys.Mlockall(McFuture).Value);
        fx.Map(0x100000, 2 * Page);
        Assert.True((fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Locked) != 0);
        Assert.Equal(2UL, fx.Mm.LockedVm);

        // mlock_future_ok() now applies to every mmap: beyond the limit it is EAGAIN.
        Assert.Equal(Errno.EAGAIN, fx.Sys.Mmap(0x1000000, 8 * MiB, ProtRw, PrivateAnon | Fixed, NoFd, 0).Errno);

        Assert.Equal(0UL, fx.Sys.Munlockall().Value);
        Assert.Equal(0UL, fx.Mm.LockedVm);
        fx.Map(0x200000, Page);
        Assert.True((fx.Mm.LookupVma(0x200000)!.Flags & VmFlags.Locked) == 0);
    }

    [Fact]
    [Trait("Linux", "mm/mlock.c mlockall(MCL_CURRENT | MCL_ONFAULT): locked on fault, not populated")]
    public void MlockallCurrentOnFaultLocksWithoutPopulating()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(0UL, fx.Sys.Mlockall(McCurrent | McOnFault).Value);
        Assert.Equal(VmFlags.LockedMask, fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.LockedMask);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 2 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 0, 0 }, vec);
    }
}
