using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>
/// A VMA as a driver's hook sees it: what Linux lets a driver read from a vm_area_struct, and the helpers
/// through which it may change the VMA while its hook runs (docs/hook-lifecycle.md says which hook may use
/// which). Mm's VMA implements it; drivers never see the tree links, the anon_vma or the counters.
/// Linux: include/linux/mm_types.h struct vm_area_struct; vm_flags_set(), vma_set_file(), vma->vm_ops = ...
/// </summary>
public interface IVmArea
{
    /// <summary>First address. Linux: vm_start.</summary>
    ulong Start { get; }

    /// <summary>First address past the end. Linux: vm_end.</summary>
    ulong End { get; }

    /// <summary>File offset of <see cref="Start"/>, in pages. Linux: vm_pgoff.</summary>
    ulong PgOff { get; }

    /// <summary>Linux: vm_flags.</summary>
    VmFlags Flags { get; }

    /// <summary>The file mapped, or null for anonymous memory. Linux: vm_file.</summary>
    MappedFile? File { get; }

    /// <summary>Linux: vm_ops.</summary>
    VmOperations? VmOps { get; }

    /// <summary>Linux: vm_private_data.</summary>
    object? PrivateData { get; }

    /// <summary>Pages spanned. Linux: vma_pages().</summary>
    ulong Pages { get; }

    /// <summary>True while this VMA is write-locked: the mmap lock held for write and vma_start_write() done
    /// since it was taken. Linux: __is_vma_write_locked().</summary>
    bool IsWriteLocked { get; }

    /// <summary>True while the task holds this VMA's read lock (a fault handled without the mmap lock).
    /// Linux: vma_assert_locked() passes on it.</summary>
    bool IsReadLocked { get; }

    /// <summary>The address space the VMA is in (null before it is inserted). Linux: vm_mm.</summary>
    IMmView? Mm { get; }

    /// <summary>Linux: vm_flags_reset() / vm_flags_set() from a legacy mmap hook.</summary>
    void SetFlagsForDriver(VmFlags flags);

    /// <summary>Linux: vma->vm_ops = ops.</summary>
    void SetVmOpsForDriver(VmOperations? ops);

    /// <summary>Linux: vma->vm_private_data = data.</summary>
    void SetPrivateDataForDriver(object? data);

    /// <summary>Linux: vma_set_file().</summary>
    void SetFileForDriver(MappedFile? file);

    /// <summary>Linux: vma->vm_pgoff = pgoff.</summary>
    void SetPgOffForDriver(ulong pgoff);
}

/// <summary>
/// An address space as a hook sees it: its mmap lock, the page-inserting helpers drivers call, and the hook
/// trace. Linux: struct mm_struct as drivers reach it through vma->vm_mm.
/// </summary>
public interface IMmView
{
    /// <summary>Linux: mm->mmap_lock.</summary>
    Locking.MmapLock MmapLock { get; }

    /// <summary>Maps driver pages into [start, end) of a VMA: they are resident at once.
    /// Linux: mm/memory.c vm_insert_pages() / remap_pfn_range().</summary>
    void InsertPagesForDriver(IVmArea vma, ulong start, ulong end);

    /// <summary>Writes one hook-trace line when tracing is on (mapwright run --hook-trace), for a hook called
    /// outside Mm's own mapping path (the compat layer).</summary>
    void TraceHook(string name, MappedFile file, IVmArea vma, Errno result, bool withVma);
}

/// <summary>
/// The shmem file system as Mm reaches it: a shared anonymous mapping is backed by a new unlinked shmem file
/// of the mapping's size. The machine's shmem file system (Mapwright.Vfs) implements it, and numbers the
/// files' inodes. Linux: mm/shmem.c shmem_zero_setup().
/// </summary>
public interface IShmemFiles
{
    /// <summary>A new "/dev/zero (deleted)" shmem file of <paramref name="size"/> bytes.</summary>
    MappedFile ZeroSetup(ulong size);

    /// <summary>The VM operations of shared anonymous memory (shmem_anon_vm_ops), which is not
    /// vma_is_anonymous().</summary>
    VmOperations AnonVmOps { get; }
}
