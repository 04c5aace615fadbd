namespace Mapwright.Contract;

/// <summary>
/// Callbacks a driver attaches to a VMA. Linux: include/linux/mm.h struct vm_operations_struct.
/// The arguments are the VMA and what Linux passes.
/// </summary>
public class VmOperations
{
    /// <summary>Called when a VMA is duplicated: a split's new half, mremap's copy. Linux: vm_ops->open.</summary>
    public Action<IVmArea>? Open { get; init; }

    /// <summary>Called when a VMA goes away. Present means the VMA is never removed by a merge. Linux: vm_ops->close.</summary>
    public Action<IVmArea>? Close { get; init; }

    /// <summary>Returns 0 or an errno to refuse a split at the given address (special mappings refuse with EINVAL).
    /// Linux: vm_ops->may_split.</summary>
    public Func<ulong, Abi.Errno>? MaySplit { get; init; }

    /// <summary>Called after mremap moved the VMA; an error moves it back. Linux: vm_ops->mremap.</summary>
    public Func<IVmArea, Abi.Errno>? Mremap { get; init; }

    /// <summary>Resolves a fault on a page not mapped yet: returns 0 (the page-cache page at the fault's page
    /// offset is then mapped; the handler may fill it first) or an errno, which the access sees as SIGBUS
    /// (VM_FAULT_SIGBUS). Linux: vm_ops->fault.</summary>
    public Func<VmFault, Abi.Errno>? Fault { get; init; }

    /// <summary>Called before a page of a shared mapping becomes writable (the first write to it since it was
    /// mapped): 0 lets the write go on, an errno makes it SIGBUS. Its presence makes the mapping write-notify.
    /// Linux: vm_ops->page_mkwrite, do_page_mkwrite().</summary>
    public Func<VmFault, Abi.Errno>? PageMkwrite { get; init; }

    /// <summary>A read fault also maps the neighbouring pages already in the page cache (fault-around).
    /// Linux: vm_ops->map_pages = filemap_map_pages (shmem, regular files).</summary>
    public bool MapPages { get; init; }

    /// <summary>Writes through a shared mapping are noticed at the first write (the page is mapped read-only
    /// until then), so the page is marked dirty. False for shmem, whose shared mappings are writable from the
    /// start: a write to a mapped page dirties only its page-table entry. Linux: vma_wants_writenotify().</summary>
    public bool WriteNotify { get; init; }

    /// <summary>Name shown in maps for special mappings ([vdso], [vvar]). Linux: vm_ops->name.</summary>
    public string? Name { get; init; }

    /// <summary>True for special mappings installed by the kernel (vdso, vvar). Linux: _install_special_mapping().</summary>
    public bool IsSpecialMapping { get; init; }
}
