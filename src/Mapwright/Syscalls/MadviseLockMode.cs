namespace Mapwright.Syscalls;

/// <summary>The lock madvise takes for an advice. Linux: mm/madvise.c enum madvise_lock_mode.</summary>
internal enum MadviseLockMode
{
    /// <summary>No lock: memory-failure injection. Linux: MADVISE_NO_LOCK.</summary>
    None,

    /// <summary>Linux: MADVISE_MMAP_READ_LOCK.</summary>
    MmapRead,

    /// <summary>Linux: MADVISE_MMAP_WRITE_LOCK.</summary>
    MmapWrite,

    /// <summary>The VMA read lock when the range lies in one VMA, else the mmap read lock.
    /// Linux: MADVISE_VMA_READ_LOCK, try_vma_read_lock().</summary>
    VmaRead,
}
