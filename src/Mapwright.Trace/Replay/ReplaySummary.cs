namespace Mapwright.Trace.Replay;

/// <summary>The counts of a whole run and, with <c>--hook-trace</c>, the driver locks still held at its end.</summary>
public sealed record ReplaySummary(TraceRunSummary Counts, IReadOnlyList<string>? Leaks);
