using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// The memory lines of /proc/PID/status, in pages. Linux: fs/proc/task_mmu.c task_mem().
/// </summary>
public sealed record MemoryStatus
{
    /// <summary>The largest VmSize ever, as of the last unmap. Linux: mm->hiwater_vm.</summary>
    public ulong VmPeak { get; init; }

    public ulong VmSize { get; init; }

    public ulong VmLck { get; init; }

    /// <summary>Pinned pages: always 0 (the model has no GUP pins). Linux: mm->pinned_vm.</summary>
    public ulong VmPin { get; init; }

    /// <summary>The largest VmRSS ever, as of the last zap. Linux: mm->hiwater_rss.</summary>
    public ulong VmHwm { get; init; }

    public ulong VmRss => RssAnon + RssFile + RssShmem;

    public ulong RssAnon { get; init; }

    public ulong RssFile { get; init; }

    public ulong RssShmem { get; init; }

    public ulong VmData { get; init; }

    public ulong VmStk { get; init; }

    /// <summary>Text pages (the executable's code): the model does not know the ELF code range, so 0.</summary>
    public ulong VmExe { get; init; }

    /// <summary>Other executable pages (libraries). Linux: exec_vm minus the text.</summary>
    public ulong VmLib { get; init; }

    /// <summary>Page-table pages the present entries need now (PTE, PMD and PUD tables).</summary>
    public ulong VmPte { get; init; }

    public ulong VmSwap { get; init; }
}
