using System.Text.Json;
using Mapwright.Abi;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Trace.Output;

/// <summary>
/// <c>--json</c>: one JSON object per call of the trace (NDJSON), then one summary object. The schema is in
/// docs/cli.md; serialization is System.Text.Json's source-generated code (<see cref="ReplayJsonContext"/>).
/// </summary>
public sealed class JsonWriter : IOutcomeSink, IDisposable
{
    private readonly Utf8Output _out;
    private readonly Utf8JsonWriter _json;
    private readonly JsonCallRecord _record = new();
    private readonly ReplayStats? _stats;

    /// <param name="output">Where the lines go.</param>
    /// <param name="stats">Statistics to put into the summary object (<c>--stats</c>), or null.</param>
    public JsonWriter(Utf8Output output, ReplayStats? stats = null)
    {
        _out = output;
        _json = new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        _stats = stats;
    }

    public void OnOutcome(Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        CallLine call = outcome.Call;
        JsonCallRecord r = _record;
        r.Line = call.Line;
        r.Pid = call.Pid;
        r.Call = call.Name;
        r.Status = outcome.Kind switch
        {
            OutcomeKind.Executed => "executed",
            OutcomeKind.NoReturn => "no-return",
            OutcomeKind.View => "view",
            OutcomeKind.Control => "control",
            _ => "skipped",
        };
        bool hasResult = outcome.Kind is OutcomeKind.Executed or OutcomeKind.NoReturn or OutcomeKind.Control;
        r.Result = hasResult ? outcome.FormatResult() : null;
        r.Value = outcome.Kind == OutcomeKind.Executed && outcome.Signal == Signal.None && !outcome.Result.IsError ? outcome.Result.Value : null;
        r.Errno = outcome.Kind == OutcomeKind.Executed && outcome.Signal == Signal.None && outcome.Result.IsError ? outcome.Result.Errno.ToString() : null;
        r.Signal = outcome.Signal != Signal.None ? outcome.Signal.ToString() : null;
        r.Expected = call.HasResult ? call.ResultText.ToString() : null;
        r.Verdict = outcome.Verdict switch
        {
            Verdict.Matched => "matched",
            Verdict.Diverged => "diverged",
            _ => null,
        };
        r.Reason = outcome.SkipReason ?? outcome.FollowRefusal;
        r.Hooks = outcome.HookLines.Count != 0 ? [.. outcome.HookLines] : null;
        r.Notes = outcome.Notes.Count != 0 ? [.. outcome.Notes] : null;
        r.Text = outcome.ViewText;
        Emit(r, ReplayJsonContext.Default.JsonCallRecord);
    }

    public void OnEnd(ReplaySummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var counts = new JsonSummaryCounts
        {
            Executed = summary.Counts.Executed,
            Matched = summary.Counts.Matched,
            Diverged = summary.Counts.Diverged,
            Skipped = summary.Counts.Skipped,
            Leaks = summary.Leaks,
            Stats = _stats is null ? null : ToJson(_stats),
        };
        Emit(new JsonSummaryRecord { Summary = counts }, ReplayJsonContext.Default.JsonSummaryRecord);
    }

    public void Dispose() => _json.Dispose();

    private void Emit<T>(T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> info)
    {
        JsonSerializer.Serialize(_json, value, info);
        _json.Flush();
        _json.Reset();
        _out.Write('\n');
    }

    private static JsonStats ToJson(ReplayStats stats)
    {
        var calls = new List<JsonCallStat>();
        foreach (ReplayStats.CallStat c in stats.Calls)
        {
            calls.Add(new JsonCallStat { Call = c.Name, Count = c.Count, Errors = c.Errors, ErrorsBy = c.ErrorsByName.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal) });
        }

        var processes = new List<JsonProcessPeaks>();
        foreach (ReplayStats.ProcessPeaks p in stats.Processes)
        {
            processes.Add(new JsonProcessPeaks
            {
                Pid = p.Pid,
                PeakVmas = p.PeakVmas,
                PeakMappedBytes = p.PeakMappedBytes,
                PeakResidentBytes = p.PeakResidentBytes,
                Merges = p.Merges,
                Splits = p.Splits,
            });
        }

        return new JsonStats
        {
            Calls = calls,
            Skipped = stats.Skipped.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal),
            Processes = processes,
        };
    }
}
