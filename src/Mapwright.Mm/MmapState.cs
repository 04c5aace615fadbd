using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// One mapping of a region in progress, handed from step to step of <see cref="VmaOps.MmapRegion"/>: setup,
/// MmapPrepare, new VMA, complete, or abort. A value on the caller's stack: one per call, shared with no other
/// operation.
/// Linux: mm/vma.c struct mmap_state.
/// </summary>
internal struct MmapState
{
    /// <summary>The address space. Linux: map->mm.</summary>
    public readonly AddressSpace Mm;

    /// <summary>The range [Addr, End) and its length in pages. Linux: map->addr, map->end, map->pglen.</summary>
    public readonly ulong Addr;

    public readonly ulong End;

    public readonly ulong PgLen;

    /// <summary>The file's operations as mmap() was called (before MmapPrepare may change the file), or null.
    /// Linux: map->file->f_op.</summary>
    public readonly FileOperations? Fop;

    /// <summary>The file offset in pages; MmapPrepare may change it. Linux: map->pgoff.</summary>
    public ulong PgOff;

    /// <summary>The new VMA's flags; MmapPrepare or the legacy hook may change them. Linux: map->vm_flags.</summary>
    public VmFlags VmFlags;

    /// <summary>The file mapped, or null; MmapPrepare, the legacy hook or shmem_zero_setup() may change it.
    /// Linux: map->file.</summary>
    public MappedFile? File;

    /// <summary>The neighbours of the range once what it replaces is gone. Linux: map->prev, map->next.</summary>
    public Vma? Prev;

    public Vma? Next;

    /// <summary>Pages charged to overcommit, to return on failure. Linux: map->charged.</summary>
    public ulong Charged;

    /// <summary>The descriptor MmapPrepare filled, or null when the file has no such hook.</summary>
    public VmAreaDesc? Desc;

    /// <summary>MmapPrepare succeeded: exactly one of MmapComplete and MmapAbort must follow (rule 3).</summary>
    public bool Prepared;

    /// <summary>The mapping is shared anonymous memory, backed by a shmem file made here.</summary>
    public bool SharedAnonOps;

    /// <summary>A mapping of [addr, end) about to start. Linux: MMAP_STATE().</summary>
    public MmapState(AddressSpace mm, MappedFile? file, ulong addr, ulong end, ulong pglen, VmFlags vmFlags, ulong pgoff)
    {
        Mm = mm;
        File = file;
        Fop = file?.Operations;
        Addr = addr;
        End = end;
        PgLen = pglen;
        VmFlags = vmFlags;
        PgOff = pgoff;
    }
}
