using Mapwright.Paging;

namespace Mapwright.Contract;

/// <summary>
/// What a fault handler is told: the VMA, the file page, whether it
/// is a write, and the machine's memory and the file's page cache, through which a driver provides the page's
/// bytes (the page mapped is the page-cache page at <see cref="PgOff"/>). Linux: struct vm_fault.
/// </summary>
public sealed class VmFault
{
    public VmFault(IVmArea vma, ulong pgoff, bool write, PhysicalMemory memory, PageCacheSet pageCache)
    {
        Vma = vma;
        PgOff = pgoff;
        Write = write;
        Memory = memory;
        PageCache = pageCache;
    }

    /// <summary>Immutable after construction. Linux: vmf->vma.</summary>
    public IVmArea Vma { get; }

    /// <summary>Immutable after construction. Linux: vmf->pgoff.</summary>
    public ulong PgOff { get; }

    /// <summary>Immutable after construction. Linux: FAULT_FLAG_WRITE.</summary>
    public bool Write { get; }

    /// <summary>Immutable after construction.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>Immutable after construction. Linux: vmf->vma->vm_file->f_mapping.</summary>
    public PageCacheSet PageCache { get; }
}
