using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.Locking;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Vfs;
using Xunit;

namespace Mapwright.Tests.Locking;

/// <summary>The runtime lock-order checker (Locking/LockDep.cs, docs/locking.md "The checker").</summary>
public sealed class LockDepTests
{
    private const ulong Page = PageConstants.PageSize;
    private const ulong Rw = (ulong)(Prot.Read | Prot.Write);
    private const ulong Shared = (ulong)MapFlags.Shared;

    /// <summary>The class of the test driver's mutex, shared by its instances on every machine.</summary>
    private static readonly LockClass s_mutexClass = new("lockprobe_mutex");

    /// <summary>A driver that takes its mutex in mmap_prepare (under the mmap write lock) and releases it in
    /// complete or abort, as resctrl's pseudo-lock driver does with rdtgroup_mutex.</summary>
    private static (MmSyscalls Sys, DeviceMutex Mutex, ulong Fd) DriverWithMutex()
    {
        var sys = new Machine().NewProcess(new MmConfig());
        var mutex = new DeviceMutex("lockprobe_mutex", sys.Machine.LockDep, s_mutexClass);
        var fop = new FileOperations
        {
            Name = "/dev/lockprobe-mutex",
            MmapPrepare = _ => mutex.Lock(),
            MmapComplete = (_, _, _) =>
            {
                mutex.Unlock();
                return Errno.None;
            },
            MmapAbort = (_, _, _) => mutex.Unlock(),
        };
        ulong fd = LockProbeDriver.Open(sys, fop);
        return (sys, mutex, fd);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c check_noncircular(): mmap_lock then a driver mutex, later the mutex then mmap_lock")]
    public void TakingTheMmapLockUnderADriverMutexAfterTheOppositeOrderIsABug()
    {
        (MmSyscalls sys, DeviceMutex mutex, ulong fd) = DriverWithMutex();
        ulong addr = sys.Mmap(0, Page, Rw, Shared, fd, 0).Value;

        Assert.Equal(Errno.None, mutex.Lock());
        KernelBugException bug = Assert.Throws<KernelBugException>(() => sys.Munmap(addr, Page));
        Assert.Contains("circular locking dependency", bug.Message, StringComparison.Ordinal);
        Assert.Contains("acquiring mmap_lock while holding lockprobe_mutex", bug.Message, StringComparison.Ordinal);
        Assert.Contains("mmap_lock -> lockprobe_mutex", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c: the documented order (mmap_lock, VMA lock, driver mutex) raises nothing")]
    public void TheDocumentedOrderPassesOnEveryPath()
    {
        (MmSyscalls sys, DeviceMutex mutex, ulong fd) = DriverWithMutex();
        for (int i = 0; i < 3; i++)
        {
            ulong addr = sys.Mmap(0, 4 * Page, Rw, Shared, fd, 0).Value;
            Assert.Equal(Signal.None, sys.Poke(addr, Page, 1));
            Assert.False(sys.Mprotect(addr + Page, Page, (ulong)Prot.Read).IsError);
            Assert.False(sys.Madvise(addr, Page, (ulong)Madvise.DontNeed).IsError);
            Assert.False(sys.Mincore(addr, Page, vecValid: true, null).IsError);
            Assert.False(sys.Munmap(addr, 4 * Page).IsError);
        }

        Assert.Equal(3, mutex.Acquisitions);
        Assert.Equal(0, sys.Machine.LockDep.HeldCount);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c check_prev_add(): an edge that closes a cycle, named with the order first seen")]
    public void AnInversionNamesBothLocksAndTheOrderFirstSeen()
    {
        var lockDep = new LockDep();
        var a = new LockClass("lock_a");
        var b = new LockClass("lock_b");
        object ia = new(), ib = new();
        lockDep.Acquire(a, ia);
        lockDep.Acquire(b, ib);
        lockDep.Release(b, ib);
        lockDep.Release(a, ia);

        lockDep.Acquire(b, ib);
        KernelBugException bug = Assert.Throws<KernelBugException>(() => lockDep.Acquire(a, ia));
        Assert.Contains("acquiring lock_a while holding lock_b", bug.Message, StringComparison.Ordinal);
        Assert.Contains("lock_a -> lock_b", bug.Message, StringComparison.Ordinal);
        Assert.Contains("first", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "CONFIG_PROVE_LOCKING off: the locks are taken as ever, their order is not recorded or checked")]
    public void ADisabledCheckerRecordsAndChecksNothing()
    {
        var lockDep = new LockDep(enabled: false);
        var a = new LockClass("lock_a");
        var b = new LockClass("lock_b");
        object ia = new(), ib = new();
        lockDep.Acquire(a, ia);
        lockDep.Acquire(b, ib);
        Assert.Equal(0, lockDep.HeldCount);
        lockDep.Release(b, ib);
        lockDep.Release(a, ia);

        lockDep.Acquire(b, ib);
        lockDep.Acquire(a, ia);
        Assert.False(lockDep.IsEnabled);
        Assert.False(lockDep.IsHeld(a));
    }

    [Fact]
    [Trait("Rule", "MmDebug.CheckLockOrder: every machine of the tests checks its lock order")]
    public void TestsMakeCheckingMachines()
    {
        var machine = new Machine();
        Assert.True(machine.LockDep.IsEnabled);
        Assert.True(new LockDep().IsEnabled);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c: a cycle through a third class is found too")]
    public void ATransitiveInversionIsABug()
    {
        var lockDep = new LockDep();
        var a = new LockClass("lock_a");
        var b = new LockClass("lock_b");
        var c = new LockClass("lock_c");
        object ia = new(), ib = new(), ic = new();
        lockDep.Acquire(a, ia);
        lockDep.Acquire(b, ib);
        lockDep.Release(b, ib);
        lockDep.Release(a, ia);
        lockDep.Acquire(b, ib);
        lockDep.Acquire(c, ic);
        lockDep.Release(c, ic);
        lockDep.Release(b, ib);

        lockDep.Acquire(c, ic);
        KernelBugException bug = Assert.Throws<KernelBugException>(() => lockDep.Acquire(a, ia));
        Assert.Contains("lock_a -> lock_b -> lock_c", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "Documentation/mm/process_addrs.rst: the VMA lock nests inside the mmap lock, from the first acquisition on")]
    public void TheMmapLockUnderAVmaReadLockIsABugEvenBeforeTheRightOrderWasSeen()
    {
        var lockDep = new LockDep();
        object vma = new(), mm = new();
        lockDep.Acquire(LockClass.VmaLock, vma);
        KernelBugException bug = Assert.Throws<KernelBugException>(() => lockDep.Acquire(LockClass.MmapLock, mm));
        Assert.Contains("acquiring mmap_lock while holding vma_lock", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c print_unlock_imbalance_bug()")]
    public void ReleasingALockNotHeldIsABug()
    {
        var lockDep = new LockDep();
        KernelBugException bug = Assert.Throws<KernelBugException>(() => lockDep.Release(new LockClass("lock_a"), new object()));
        Assert.Contains("bad unlock balance", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/locking/lockdep.c print_deadlock_bug(): a second lock of one class needs a nesting annotation")]
    public void ASecondLockOfOneClassWithoutNestingIsABugAndWithNestingIsNot()
    {
        var lockDep = new LockDep();
        object parent = new(), child = new(), other = new();
        lockDep.Acquire(LockClass.MmapLock, parent);
        lockDep.Acquire(LockClass.MmapLock, child, nested: true);
        lockDep.Release(LockClass.MmapLock, child);
        Assert.Throws<KernelBugException>(() => lockDep.Acquire(LockClass.MmapLock, other));
    }

    [Fact]
    [Trait("Rule", "issue 9: two machines in one process are independent")]
    public void TwoMachinesLearnTheirOrdersIndependently()
    {
        (MmSyscalls first, DeviceMutex firstMutex, ulong firstFd) = DriverWithMutex();
        (MmSyscalls second, DeviceMutex secondMutex, _) = DriverWithMutex();

        // The first machine learns mmap_lock -> mutex; the second, whose mutex has the same class, only ever
        // sees the mutex then mmap_lock: one graph for both would call that an inversion.
        Assert.False(first.Mmap(0, Page, Rw, Shared, firstFd, 0).IsError);
        Assert.Equal(Errno.None, secondMutex.Lock());
        Assert.False(second.Mmap(0, Page, Rw, (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0).IsError);
        secondMutex.Unlock();
        Assert.Equal(Errno.None, firstMutex.Lock());
        Assert.Throws<KernelBugException>(() => first.Mincore(0, Page, vecValid: true, null));
    }
}
