using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>Lock assertions: what an operation requires, checked at its entry (a failed one is the model's
/// BUG). Linux: include/linux/mmap_lock.h mmap_assert_locked(), mmap_assert_write_locked(),
/// vma_assert_write_locked(), vma_assert_locked().</summary>
internal static class LockAssert
{
    /// <summary>Requires the mmap lock held for write. Linux: mmap_assert_write_locked().</summary>
    public static void MmapWriteLocked(MmapLock mmapLock, string who)
    {
        Bug.On(!mmapLock.IsWriteLocked, $"{who}: expected the mmap lock held for write, found it {Describe(mmapLock)}");
    }

    /// <summary>Requires the mmap lock held for read (not write). Linux: mmap_assert_locked() where the
    /// caller took it for read.</summary>
    public static void MmapReadLocked(MmapLock mmapLock, string who)
    {
        Bug.On(!mmapLock.IsReadLocked, $"{who}: expected the mmap lock held for read, found it {Describe(mmapLock)}");
    }

    /// <summary>Requires the mmap lock held in either mode. Linux: mmap_assert_locked().</summary>
    public static void MmapLocked(MmapLock mmapLock, string who)
    {
        Bug.On(!mmapLock.IsLocked, $"{who}: expected the mmap lock held, found it released");
    }

    /// <summary>Requires the VMA write-locked (which implies the mmap write lock).
    /// Linux: vma_assert_write_locked().</summary>
    public static void VmaWriteLocked(bool isWriteLocked, object vma, string who)
    {
        Bug.On(!isWriteLocked, $"{who}: expected {vma} write-locked, found it not");
    }

    /// <summary>Requires the VMA stable: its read lock or the mmap lock held. Linux: vma_assert_locked().</summary>
    public static void VmaLocked(bool isReadLocked, MmapLock mmapLock, object vma, string who)
    {
        Bug.On(!isReadLocked && !mmapLock.IsLocked, $"{who}: expected {vma} read-locked or the mmap lock held, found neither");
    }

    private static string Describe(MmapLock mmapLock) =>
        mmapLock.IsWriteLocked ? "held for write" : mmapLock.IsReadLocked ? "held for read" : "released";
}
