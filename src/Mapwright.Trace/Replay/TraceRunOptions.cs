using Mapwright.Mm;

namespace Mapwright.Trace.Replay;

/// <summary>How a trace is run.</summary>
public sealed record TraceRunOptions
{
    /// <summary>Compare each line's written result with the produced one.</summary>
    public bool Check { get; init; }

    /// <summary>A /proc/PID/maps dump giving the initial address space, with its file name for messages.</summary>
    public string? InitialMapsText { get; init; }

    public string InitialMapsName { get; init; } = "initial-maps";

    /// <summary>Print one <c># hook ...</c> line per hook call and end with the leak report.</summary>
    public bool HookTrace { get; init; }

    /// <summary>Follow the addresses the log shows the kernel chose (a log captured with address randomisation
    /// on): mmap without MAP_FIXED, a moving mremap, the first brk (<see cref="AddressFollower"/>).</summary>
    public bool FollowAddresses { get; init; }

    public ulong? MmapBase { get; init; }

    public ulong? BrkStart { get; init; }

    public MmConfig Config { get; init; } = MmConfig.FromHost();

    /// <summary>The environment an execve line without one (strace without <c>-v</c>) is given, as VAR=value
    /// strings; null assumes this process's own environment (<see cref="HostEnvironment"/>).</summary>
    public IReadOnlyList<byte[]>? ExecEnvironment { get; init; }
}
