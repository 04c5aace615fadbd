using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>Lock assertions: the model's lockdep. Linux: mmap_assert_write_locked(), vma_assert_write_locked().</summary>
public static class LockAssert
{
    public static void MmapWriteLocked(MmapLock mmapLock, string who)
    {
        Bug.On(!mmapLock.IsWriteLocked, $"{who}: expected the mmap lock held for write, found it {(mmapLock.IsReadLocked ? "held for read" : "released")}");
    }
}
