using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Drives a replay: reads a trace with a <see cref="TraceReader"/> and steps a <see cref="ReplayEngine"/> through
/// its calls. A file is checked whole first (<see cref="Validate"/>), so that malformed input is reported before
/// anything runs; a stream that can be read only once (standard input, a pipe) is run as it arrives and stops at
/// its first malformed line. The CLI and the differential tests both replay through here.
/// </summary>
public static class TraceReplay
{
    /// <summary>The most diagnostics <see cref="Validate"/> keeps; the rest are only counted.</summary>
    public const int MaxDiagnostics = 1000;

    /// <summary>How often, in lines read, <see cref="Run"/> reports progress.</summary>
    public const int ProgressInterval = 1 << 16;

    /// <summary>Reads the whole trace and returns its diagnostics in line order (at most
    /// <see cref="MaxDiagnostics"/>; <paramref name="total"/> counts them all).</summary>
    public static List<TraceDiagnostic> Validate(TraceReader reader, out int total)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var errors = new List<TraceDiagnostic>();
        total = 0;
        ReadStatus status;
        while ((status = reader.Read()) != ReadStatus.End)
        {
            if (status == ReadStatus.Error)
            {
                total++;
                if (errors.Count < MaxDiagnostics)
                {
                    errors.Add(reader.Error!);
                }
            }
        }

        // Stable: an error of a joined pair may name the earlier line of its unfinished half.
        return [.. errors.OrderBy(e => e.Line)];
    }

    /// <summary>
    /// Runs every call the reader yields. Returns null at the end of the trace, or the first malformed line's
    /// diagnostic, where the run stopped (every call before it has run). <paramref name="progress"/>, when given,
    /// is called with the lines and bytes read about every <see cref="ProgressInterval"/> lines.
    /// </summary>
    /// <remarks>With <paramref name="readAhead"/> (for input that is all there, such as a file) and more than one
    /// processor, the trace is read and parsed on a second thread, a few batches of lines ahead of the replay
    /// (<see cref="ReplayPipeline"/>); the outcomes are the same either way. Without it each line runs as soon
    /// as it is read, which input arriving over time (standard input, a pipe) needs; <paramref name="idle"/> (a flush
    /// of the output, say) is then called once every call read so far has run, before the replay waits for input.
    /// Such input is read on a second thread too when given <paramref name="idle"/> and more than one processor:
    /// the reader hands over what it holds before each read that may wait.</remarks>
    public static TraceDiagnostic? Run(TraceReader reader, ReplayEngine engine, Action<long, long>? progress = null, bool readAhead = false, Action? idle = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(engine);
        reader.ReportEntries = true;
        if (Environment.ProcessorCount > 1 && (readAhead || idle is not null))
        {
            return ReplayPipeline.Run(reader, engine, progress, validation: null, idle: readAhead ? null : idle);
        }

        reader.BeforeRead = idle;
        try
        {
            return RunHere(reader, engine, progress);
        }
        finally
        {
            reader.BeforeRead = null;
        }
    }

    /// <summary>
    /// Runs a file on two threads, as <see cref="Run"/> with read-ahead does, its reading thread also checking the
    /// whole file into <paramref name="validation"/>: each line is parsed once. The caller holds the output back
    /// until the check has passed (the reader is at most a few batches ahead of the replay, so the check ends with
    /// the run).
    /// </summary>
    internal static TraceDiagnostic? RunValidating(TraceReader reader, ReplayEngine engine, TraceValidation validation)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(validation);
        reader.ReportEntries = true;
        validation.Started = true;
        return ReplayPipeline.Run(reader, engine, progress: null, validation);
    }

    private static TraceDiagnostic? RunHere(TraceReader reader, ReplayEngine engine, Action<long, long>? progress)
    {

        int nextProgress = ProgressInterval;
        ReadStatus status;
        while ((status = reader.Read()) != ReadStatus.End)
        {
            if (status == ReadStatus.Error)
            {
                return reader.Error;
            }

            engine.Step(reader.Call);
            if (progress is not null && reader.LinesRead >= nextProgress)
            {
                progress(reader.LinesRead, reader.BytesRead);
                nextProgress = reader.LinesRead + ProgressInterval;
            }
        }

        return null;
    }
}
