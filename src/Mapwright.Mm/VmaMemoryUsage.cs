using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// The memory a VMA uses, in bytes, as /proc/PID/smaps reports it. Pss fields are the proportional share
/// rounded down to whole bytes (Linux keeps them scaled by 2^12 and prints them in kB, rounded down).
/// Linux: fs/proc/task_mmu.c struct mem_size_stats.
/// </summary>
public sealed record VmaMemoryUsage
{
    public ulong Size { get; init; }

    /// <summary>Resident pages mapped by the VMA (the zero page and guard markers excluded).</summary>
    public ulong Rss { get; init; }

    /// <summary>Each resident page divided by the number of mappings of it, all processes together.</summary>
    public ulong Pss { get; init; }

    public ulong PssDirty { get; init; }

    /// <summary>Pages mapped more than once (any process), not dirty.</summary>
    public ulong SharedClean { get; init; }

    public ulong SharedDirty { get; init; }

    public ulong PrivateClean { get; init; }

    public ulong PrivateDirty { get; init; }

    /// <summary>Pages accessed since their entries were last aged.</summary>
    public ulong Referenced { get; init; }

    public ulong Anonymous { get; init; }

    /// <summary>Anonymous pages freed lazily by MADV_FREE and not written since.</summary>
    public ulong LazyFree { get; init; }

    /// <summary>Pss of the VMA when it is locked (VM_LOCKED), else 0.</summary>
    public ulong Locked { get; init; }

    /// <summary>A PMD-sized transparent huge page may back part of the VMA. Linux: thp_vma_allowable_order().</summary>
    public bool ThpEligible { get; init; }
}
