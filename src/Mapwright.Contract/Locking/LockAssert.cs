using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>Lock assertions: what an operation requires, checked at its entry (a failed one is the model's
/// BUG). Linux: include/linux/mmap_lock.h mmap_assert_locked(), mmap_assert_write_locked(),
/// vma_assert_write_locked(), vma_assert_locked(). Each is a test and a branch when it holds (every syscall
/// makes several); the message is built only when it fails.</summary>
internal static class LockAssert
{
    /// <summary>Requires the mmap lock held for write. Linux: mmap_assert_write_locked().</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmapWriteLocked(MmapLock mmapLock, string who)
    {
        if (!mmapLock.IsWriteLocked)
        {
            Fail(who, "the mmap lock held for write", Describe(mmapLock));
        }
    }

    /// <summary>Requires the mmap lock held for read (not write). Linux: mmap_assert_locked() where the
    /// caller took it for read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmapReadLocked(MmapLock mmapLock, string who)
    {
        if (!mmapLock.IsReadLocked)
        {
            Fail(who, "the mmap lock held for read", Describe(mmapLock));
        }
    }

    /// <summary>Requires the mmap lock held in either mode. Linux: mmap_assert_locked().</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmapLocked(MmapLock mmapLock, string who)
    {
        if (!mmapLock.IsLocked)
        {
            Fail(who, "the mmap lock held", "it released");
        }
    }

    /// <summary>Requires the VMA write-locked (which implies the mmap write lock).
    /// Linux: vma_assert_write_locked().</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void VmaWriteLocked(bool isWriteLocked, object vma, string who)
    {
        if (!isWriteLocked)
        {
            Fail(who, $"{vma} write-locked", "it not");
        }
    }

    /// <summary>Requires the VMA stable: its read lock or the mmap lock held. Linux: vma_assert_locked().</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void VmaLocked(bool isReadLocked, MmapLock mmapLock, object vma, string who)
    {
        if (!isReadLocked && !mmapLock.IsLocked)
        {
            Fail(who, $"{vma} read-locked or the mmap lock held", "neither");
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Fail(string who, string expected, string found) =>
        Bug.Throw($"{who}: expected {expected}, found {found}");

    private static string Describe(MmapLock mmapLock) =>
        mmapLock.IsWriteLocked ? "it held for write" : mmapLock.IsReadLocked ? "it held for read" : "it released";
}
