using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// The check of a whole file made by the replay's own reading thread (<see cref="TraceReplay.RunValidating"/>):
/// the reader parses each line once, for the replay and for the check, and goes on to the end of the file after
/// the replay stops (at a malformed line, or because the replay ended), so that <see cref="Completion"/> always
/// holds every diagnostic of the file, as <see cref="TraceReplay.Validate"/> gives them.
/// </summary>
internal sealed class TraceValidation
{
    private readonly List<TraceDiagnostic> _errors = [];
    private readonly TaskCompletionSource<(List<TraceDiagnostic> Errors, int Total)> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _total;

    /// <summary>The diagnostics in line order (at most <see cref="TraceReplay.MaxDiagnostics"/>) and their count,
    /// once the reader has reached the end of the file; faulted when reading failed.</summary>
    public Task<(List<TraceDiagnostic> Errors, int Total)> Completion => _done.Task;

    /// <summary>A reader has begun the check (set by <see cref="TraceReplay.RunValidating"/>, or by a caller that
    /// makes the check itself because the replay never began).</summary>
    public bool Started { get; set; }

    /// <summary>Records a malformed line (reading thread only).</summary>
    public void Add(TraceDiagnostic diagnostic)
    {
        _total++;
        if (_errors.Count < TraceReplay.MaxDiagnostics)
        {
            _errors.Add(diagnostic);
        }
    }

    /// <summary>Reads the rest of the file for the check alone, then completes it (reading thread only).</summary>
    public void FinishReading(TraceReader reader)
    {
        ReadStatus status;
        while ((status = reader.Read()) != ReadStatus.End)
        {
            if (status == ReadStatus.Error)
            {
                Add(reader.Error!);
            }
        }

        // Stable: an error of a joined pair may name the earlier line of its unfinished half.
        _done.TrySetResult(([.. _errors.OrderBy(e => e.Line)], _total));
    }

    /// <summary>Reading failed: the check fails with the same exception.</summary>
    public void Fail(Exception e) => _done.TrySetException(e);
}
