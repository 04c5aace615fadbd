using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>The per-VMA read lock as the syscall door and the fault path take it, and the lock changes a
/// syscall makes between changing the mappings and populating them. Linux: mm/mmap_lock.c.</summary>
internal static class MmapLockOps
{
    /// <summary>
    /// Read-locks the VMA holding all of [addr, addr + len) without the mmap lock, as madvise does for
    /// MADV_DONTNEED; null (the caller takes the mmap read lock instead) when the range is malformed, not in one
    /// VMA, or the VMA cannot be read-locked.
    /// Linux: mm/madvise.c try_vma_read_lock() → mm/mmap_lock.c lock_vma_under_rcu().
    /// </summary>
    /// <remarks>Requires: the mmap lock not held by the task.</remarks>
    internal static Vma? TryLockVmaForRange(AddressSpace mm, ulong addr, ulong len)
    {
        Diagnostics.Bug.On(mm.MmapLock.IsLocked, "lock_vma_under_rcu with the mmap lock held by the same task");
        ulong end = addr + PageConstants.PageAlign(len);
        if (!PageConstants.IsPageAligned(addr) || end <= addr || end > PageConstants.TaskSize)
        {
            return null;
        }

        Vma? vma = mm.Tree.Lookup(addr);
        if (vma is null || end > vma.End || !vma.TryStartRead())
        {
            return null;
        }

        return vma;
    }

    /// <summary>Releases a VMA read lock from <see cref="TryLockVmaForRange"/>. Linux: vma_end_read().</summary>
    internal static void UnlockVmaRead(AddressSpace mm, Vma vma)
    {
        Diagnostics.Bug.On(vma.Mm != mm, $"vma_end_read of {vma}, which is not in this address space");
        vma.EndRead();
    }

    /// <summary>
    /// Drops the mmap write lock the syscall took to change the mappings and takes the read lock under which
    /// the range is then populated; the syscall's lock scope releases the read lock.
    /// Linux: mm/mlock.c sys_mlock(), mm/mmap.c brk, mm/mremap.c: mmap_write_unlock() then mm_populate().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write. Postconditions: mmap lock held for read.</remarks>
    internal static void UnlockForPopulate(AddressSpace mm)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "mm_populate after a mapping change");
        mm.MmapLock.RelockForRead();
    }

    /// <summary>
    /// Whether a user fault on <paramref name="vma"/> cannot complete under the VMA read lock and is retried
    /// under the mmap read lock: a handler that may sleep on I/O (a file VMA whose operations have no
    /// map_pages, for a missing page or for page_mkwrite), or an anonymous page needing an anon_vma the VMA
    /// has not got yet.
    /// Linux: mm/memory.c vmf_can_call_fault(), vmf_anon_prepare() (VM_FAULT_RETRY under FAULT_FLAG_VMA_LOCK).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static bool FaultRetriesUnderMmapLock(Vma vma, bool write, bool present)
    {
        bool shared = (vma.Flags & VmFlags.Shared) != 0;
        if (vma.File is null || vma.IsAnonymous)
        {
            return write && !shared && vma.AnonVma is null;
        }

        bool mapPages = vma.VmOps?.MapPages == true;
        if (!present)
        {
            // do_read_fault(), do_cow_fault(), do_shared_fault(): vmf_can_call_fault(); do_cow_fault() then
            // vmf_anon_prepare().
            return !mapPages || (write && !shared && vma.AnonVma is null);
        }

        if (!write)
        {
            return false;
        }

        // do_wp_page(): wp_page_shared() calls vmf_can_call_fault() before page_mkwrite; wp_page_copy() needs
        // the anon_vma.
        return shared ? vma.VmOps?.PageMkwrite is not null && !mapPages : vma.AnonVma is null;
    }
}
