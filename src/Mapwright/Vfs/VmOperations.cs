namespace Mapwright.Vfs;

/// <summary>
/// Callbacks a driver attaches to a VMA. Only the members the mm layer consults are modelled so far.
/// Linux: include/linux/mm.h struct vm_operations_struct.
/// </summary>
public class VmOperations
{
    /// <summary>Present when the driver has a close hook: such a VMA is never removed by a merge.</summary>
    public Action<object>? Close { get; init; }

    /// <summary>Returns 0 or an errno to refuse a split at the given address (special mappings refuse with EINVAL).</summary>
    public Func<ulong, Abi.Errno>? MaySplit { get; init; }

    /// <summary>Name shown in maps for special mappings ([vdso], [vvar]).</summary>
    public string? Name { get; init; }

    /// <summary>True for special mappings installed by the kernel (vdso, vvar): mremap and mprotect rules differ.</summary>
    public bool IsSpecialMapping { get; init; }
}
