namespace Mapwright.Locking;

/// <summary>
/// The lock order of the model, outermost first (docs/locking.md explains each step and its Linux source):
/// <code>
///   mmap_lock                       (MmapLock: read or write; dup_mmap nests the child's under the parent's)
///     vma_lock                      (Vma write lock: taken under the mmap write lock, ended by its release;
///                                    Vma read lock: the fault path, without the mmap lock)
///       driver mutexes              (DeviceMutex: taken by hooks, e.g. mmap_prepare, held until complete/abort)
///         i_mmap_rwsem / anon_vma   (not modelled as locks: the model has one task)
///           page table lock         (not modelled as a lock)
/// </code>
/// <see cref="LockDep"/> checks this order at run time: it learns the order from the acquisitions it sees and
/// raises a BUG on the first acquisition that contradicts an order already seen.
/// Linux: mm/rmap.c (the lock ordering comment at its top), Documentation/mm/process_addrs.rst.
/// </summary>
internal static class LockOrder
{
    /// <summary>The documented edges between the model's own lock classes, recorded in a new checker so that an
    /// inversion of them fails even before the right order was seen once.</summary>
    internal static void Seed(LockDep lockDep)
    {
        lockDep.Acquire(LockClass.MmapLock, s_seedMmap);
        lockDep.Acquire(LockClass.VmaLock, s_seedVma);
        lockDep.Release(LockClass.VmaLock, s_seedVma);
        lockDep.Release(LockClass.MmapLock, s_seedMmap);
    }

    private static readonly object s_seedMmap = new();
    private static readonly object s_seedVma = new();
}
