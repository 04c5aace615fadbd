namespace Mapwright.Trace.Replay;

/// <summary>Counts of one run: <c>calls: N executed, N matched, N diverged, N skipped</c>.</summary>
public sealed record TraceRunSummary(int Executed, int Matched, int Diverged, int Skipped)
{
    public override string ToString() => $"calls: {Executed} executed, {Matched} matched, {Diverged} diverged, {Skipped} skipped";
}
