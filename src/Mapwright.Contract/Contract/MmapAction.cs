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

    /// <summary>Called after a successful action; an error unmaps the VMA and fails mmap().</summary>
    public Func<IVmArea, Errno>? SuccessHook { get; set; }

    /// <summary>Called with the error of a failed action; may change the error but never clear it.</summary>
    public Func<Errno, Errno>? ErrorHook { get; set; }
}
