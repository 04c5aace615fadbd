using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>
/// The successor form of MmapComplete: MmapPrepare records an action the kernel performs once the VMA is in
/// place, with optional success and error hooks. Linux (v6.19): struct mmap_action.
/// </summary>
public sealed class MmapAction
{
    public MmapActionType Type { get; set; }

    /// <summary>First address to remap (inside [desc.Start, desc.End)).</summary>
    public ulong RemapStart { get; set; }

    public ulong RemapStartPfn { get; set; }

    public ulong RemapSize { get; set; }

    /// <summary>Called after a successful action, with the new VMA; an error unmaps the VMA and fails mmap() (the
    /// error hook is not called).</summary>
    public Func<IVmArea, Errno>? SuccessHook { get; set; }

    /// <summary>Called with the error of a failed action (the remap: fail point <c>remap_pfn_range</c>), after the
    /// new VMA is unmapped; returns the error mmap() reports. It may change the error but never clear it: returning
    /// <see cref="Errno.None"/> is a bug (Linux: VM_WARN_ON_ONCE in mmap_action_complete()).</summary>
    public Func<Errno, Errno>? ErrorHook { get; set; }
}
