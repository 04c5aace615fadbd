using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>
/// The mmap hooks of a file system or driver; each is optional, and whether it is provided is part of
/// the contract (docs/hook-lifecycle.md). Drivers receive the VMA itself, as in Linux.
/// Linux: include/linux/fs.h struct file_operations (mmap, mmap_prepare; mmap_complete and mmap_abort
/// from the September 2025 series).
/// </summary>
public sealed class FileOperations
{
    /// <summary>Names the driver in hook traces and BUG messages (e.g. its device path).</summary>
    public string Name { get; init; } = "file";

    /// <summary>Legacy hook: called with the VMA allocated but not yet in the tree nor VMA-locked.</summary>
    public Func<MappedFile, IVmArea, Errno>? Mmap { get; init; }

    /// <summary>Called before any VMA exists, with the range already cleared.</summary>
    public Func<VmAreaDesc, Errno>? MmapPrepare { get; init; }

    /// <summary>Called with the mmap lock and the new VMA's lock held for write, the VMA in the tree.</summary>
    public Func<MappedFile, IVmArea, object?, Errno>? MmapComplete { get; init; }

    /// <summary>Called when the mapping fails after a successful prepare, with (file, vm_private_data, context).</summary>
    public Action<MappedFile, object?, object?>? MmapAbort { get; init; }
}
