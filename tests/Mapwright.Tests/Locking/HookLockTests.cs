using Mapwright.Abi;
using Mapwright.FailPoints;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Xunit;

namespace Mapwright.Tests.Locking;

/// <summary>
/// Every hook of a driver sees the locks Linux holds when it calls that hook, on every path that calls it
/// (docs/locking.md, "Hooks"). Each test names the Linux function that establishes its expectation.
/// </summary>
public sealed class HookLockTests
{
    private const ulong Page = PageConstants.PageSize;
    private const ulong Rw = (ulong)(Prot.Read | Prot.Write);
    private const ulong R = (ulong)Prot.Read;
    private const ulong Shared = (ulong)MapFlags.Shared;
    private const ulong Private = (ulong)MapFlags.Private;
    private const ulong Fixed = (ulong)MapFlags.Fixed;
    private const ulong Anon = (ulong)MapFlags.Anonymous;
    private const ulong At = 0x10000000;

    private static (MmSyscalls Sys, LockProbeDriver Driver) NewProcess(bool mapPages = false)
    {
        var sys = new Machine().NewProcess(new MmConfig());
        sys.Mm.FailPoints = new FailPointSet();
        return (sys, new LockProbeDriver(mapPages) { Process = sys });
    }

    private static ulong MapProbe(MmSyscalls sys, LockProbeDriver driver, ulong pages, ulong flags = Shared, bool legacy = false)
    {
        ulong fd = LockProbeDriver.Open(sys, legacy ? driver.Legacy : driver.Prepared);
        SysResult r = sys.Mmap(At, pages * Page, Rw, flags | Fixed, fd, 0);
        Assert.False(r.IsError, $"mmap: {r}");
        return r.Value;
    }

    [Fact]
    [Trait("Linux", "mm/vma.c __mmap_new_file_vma() → mmap_file(): mmap write lock, the VMA not yet in the tree nor locked")]
    public void LegacyMmapHookRunsUnderTheMmapWriteLockWithTheVmaUnlocked()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        MapProbe(sys, d, 2, legacy: true);
        Assert.Equal(["mmap mmap=write vma=none"], d.Log);
        Assert.False(sys.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c __mmap_region(): call_mmap_prepare() under the mmap write lock; mmap_complete after vma_start_write()")]
    public void PrepareRunsUnderTheMmapWriteLockAndCompleteAlsoUnderTheVmaWriteLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        MapProbe(sys, d, 2);
        Assert.Equal(["mmap_prepare mmap=write vma=none", "mmap_complete mmap=write vma=write"], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c __mmap_region(): call_mmap_abort() when __mmap_new_vma() fails, still under the mmap write lock")]
    public void AbortAfterAFailureRunsUnderTheMmapWriteLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        sys.Mm.FailPoints!.Arm("vma_alloc", 1);
        ulong fd = LockProbeDriver.Open(sys, d.Prepared);
        Assert.Equal(Errno.ENOMEM, sys.Mmap(At, 2 * Page, Rw, Shared | Fixed, fd, 0).Errno);
        Assert.Equal(["mmap_prepare mmap=write vma=none", "mmap_abort mmap=write vma=none"], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vms_gather_munmap_vmas() vma_start_write(), vms_clean_up_area() → vma_close() under the mmap write lock")]
    public void MapFixedOverAMappingClosesTheOldVmaUnderBothWriteLocks()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.False(sys.Mmap(addr, 2 * Page, R, Private | Anon | Fixed, ulong.MaxValue, 0).IsError);
        Assert.Equal(["close mmap=write vma=write"], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vms_complete_munmap_vmas(): mmap_write_downgrade() before remove_vma() → vma_close()")]
    public void MunmapClosesUnderTheReadLockAfterTheDowngrade()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.False(sys.Munmap(addr, 2 * Page).IsError);
        Assert.Equal(["close mmap=read vma=none"], d.Log);
        Assert.False(sys.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c vma_modify() → __split_vma(): may_split and open before vma_start_write(vma), vma_start_write(new)")]
    public void MprotectThatSplitsCallsMaySplitAndOpenUnderTheMmapWriteLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 4);
        d.Clear();
        Assert.False(sys.Mprotect(addr + Page, Page, R).IsError);

        // The first split write-locks the VMA it keeps, so the second split's may_split finds it locked.
        Assert.Equal(["may_split mmap=write vma=none", "may_split mmap=write vma=write"], d.Of("may_split"));
        Assert.Equal(["open mmap=write vma=none", "open mmap=write vma=none"], d.Of("open"));
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c move_vma(): copy_vma() opens the copy before vma_link(); vm_ops->mremap(new_vma) after; unmap_source_vma() → do_vmi_munmap(unlock=false)")]
    public void MremapMoveOpensTheCopyCallsMremapAndClosesTheSourceUnderTheWriteLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        const ulong to = At + (64 * Page);
        SysResult r = sys.Mremap(addr, 2 * Page, 2 * Page, (ulong)(MremapFlags.MayMove | MremapFlags.Fixed), to);
        Assert.Equal(to, r.Value);
        Assert.Equal(["open mmap=write vma=none", "mremap mmap=write vma=write", "close mmap=write vma=write"], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c mremap_at() → shrink_vma(drop_lock=true) → do_vmi_munmap(unlock=true): close after the downgrade")]
    public void MremapShrinkSplitsUnderTheWriteLockAndClosesTheTailUnderTheReadLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 4);
        d.Clear();
        Assert.Equal(addr, sys.Mremap(addr, 4 * Page, 2 * Page, 0, 0).Value);
        Assert.Equal(["may_split mmap=write vma=none", "open mmap=write vma=none", "close mmap=read vma=none"], d.Log);
        Assert.False(sys.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c expand_vma() → vma_expand(): growing in place calls no vm_ops hook")]
    public void MremapGrowInPlaceCallsNoHook()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.Equal(addr, sys.Mremap(addr, 2 * Page, 4 * Page, 0, 0).Value);
        Assert.Empty(d.Log);
        Assert.Equal(addr + (4 * Page), sys.Mm.FindVma(addr)!.End);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c dup_mmap(): mmap_write_lock(oldmm), mmap_write_lock_nested(mm), vma_start_write(mpnt), then tmp->vm_ops->open(tmp)")]
    public void ForkOpensTheChildsCopyUnderBothMmapWriteLocksWithTheParentVmaWriteLocked()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        MapProbe(sys, d, 2);
        d.Clear();
        d.ForkParent = sys;
        Assert.False(sys.Fork(out MmSyscalls? child).IsError);
        Assert.Equal(["open mmap=write vma=none parent=write parent-vma=write"], d.Log);
        Assert.False(sys.Mm.MmapLock.IsLocked);
        Assert.False(child!.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c exit_mmap(): remove_vma() → vma_close() under mmap_write_lock(), no VMA lock taken")]
    public void ExitClosesEveryVmaUnderTheMmapWriteLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        MapProbe(sys, d, 2);
        d.Clear();
        sys.Exit();
        Assert.Equal(["close mmap=write vma=none"], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/memory.c do_read_fault() → vmf_can_call_fault(): no map_pages, so VM_FAULT_RETRY; arch/x86/mm/fault.c retries under lock_mm_and_find_vma()")]
    public void ReadFaultWithoutMapPagesRunsTheFaultHookUnderTheMmapReadLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess(mapPages: false);
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.Equal(Signal.None, sys.Peek(addr, 1, out _));
        Assert.Equal(["fault mmap=read vma=none"], d.Log);
        Assert.False(sys.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Linux", "arch/x86/mm/fault.c do_user_addr_fault() → lock_vma_under_rcu(); handle_mm_fault(FAULT_FLAG_VMA_LOCK) with map_pages set")]
    public void ReadFaultWithMapPagesRunsTheFaultHookUnderTheVmaReadLockAlone()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess(mapPages: true);
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.Equal(Signal.None, sys.Peek(addr, 1, out _));
        Assert.Equal(["fault mmap=none vma=read"], d.Log);
        Assert.False(sys.Mm.FindVma(addr)!.IsReadLocked);
    }

    [Theory]
    [InlineData(false, "mmap=read vma=none")]
    [InlineData(true, "mmap=none vma=read")]
    [Trait("Linux", "mm/memory.c do_shared_fault(): vmf_can_call_fault(), __do_fault() then do_page_mkwrite()")]
    public void WriteFaultOnASharedMappingRunsFaultThenPageMkwriteUnderTheFaultLock(bool mapPages, string locks)
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess(mapPages);
        ulong addr = MapProbe(sys, d, 2);
        d.Clear();
        Assert.Equal(Signal.None, sys.Poke(addr, 1, 0x5a));
        Assert.Equal(["fault " + locks, "page_mkwrite " + locks], d.Log);
    }

    [Fact]
    [Trait("Linux", "mm/gup.c __mm_populate(): faults of MAP_POPULATE run under the mmap read lock, after do_mmap() released the write lock")]
    public void PopulateRunsTheFaultHookUnderTheMmapReadLock()
    {
        (MmSyscalls sys, LockProbeDriver d) = NewProcess();
        ulong fd = LockProbeDriver.Open(sys, d.Prepared);
        Assert.False(sys.Mmap(At, Page, R, Shared | Fixed | (ulong)MapFlags.Populate, fd, 0).IsError);
        Assert.Equal(["fault mmap=read vma=none"], d.Of("fault"));
    }
}
