using System.Text;
using BenchmarkDotNet.Attributes;
using Mapwright.Trace.Output;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Bench;

/// <summary>
/// The replay engine in-process on the churn trace (<see cref="ChurnTrace"/>: 260,000 calls over 60,000 single-page
/// VMAs) held in memory as UTF-8: <see cref="Validate"/> parses and checks every line, as <c>mapwright run</c> does
/// before running a file; <see cref="Replay"/> parses, runs and echoes every call to <see cref="Stream.Null"/> on a
/// fresh engine (building the model process is part of the cost). Each benchmark is one whole trace; the summary
/// divides <see cref="Calls"/> by the time for calls per second. The CLI's own run is both, one after the other.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmark
{
    public const string TraceName = "churn.trace";

    private byte[] _trace = null!;

    /// <summary>Calls in the churn trace (one per line).</summary>
    public static int Calls { get; } = ChurnTrace.DefaultCalls;

    [GlobalSetup]
    public void Setup()
    {
        _trace = Encoding.UTF8.GetBytes(ChurnTrace.Generate());

        // Check once that the trace is what the figures claim: every line a call, every call run, none skipped.
        int malformed = Validate();
        if (malformed != 0)
        {
            throw new InvalidOperationException($"{TraceName}: {malformed} malformed lines");
        }

        TraceRunSummary counts = Run();
        if (counts.Executed != Calls || counts.Skipped != 0)
        {
            throw new InvalidOperationException($"{TraceName}: expected {Calls} calls executed, none skipped; have {counts}");
        }
    }

    /// <summary>Reads and checks the whole trace; returns the malformed lines (0).</summary>
    [Benchmark]
    public int Validate()
    {
        using var reader = new TraceReader(new MemoryStream(_trace, writable: false), TraceName);
        TraceReplay.Validate(reader, out int total);
        return total;
    }

    /// <summary>Builds an engine, runs the whole trace with the echo written to <see cref="Stream.Null"/>, ends the run.</summary>
    [Benchmark]
    public int Replay() => Run().Executed;

    private TraceRunSummary Run()
    {
        ReplayEngine engine = ReplayEngine.Create(new TraceRunOptions(), [])
            ?? throw new InvalidOperationException("the replay engine could not be created");
        using var output = new Utf8Output(Stream.Null);
        engine.AddSink(new EchoWriter(output));
        using (var reader = new TraceReader(new MemoryStream(_trace, writable: false), TraceName))
        {
            if (TraceReplay.Run(reader, engine, readAhead: true) is { } stopped)
            {
                throw new InvalidOperationException(stopped.ToString());
            }
        }

        return engine.Finish().Counts;
    }
}
