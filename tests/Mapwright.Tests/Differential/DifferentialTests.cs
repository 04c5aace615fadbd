using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// The same traces on the host kernel and on the model: identical results, residency vectors and maps.
/// Skipped (not failed) where gcc or Linux x86-64 is missing.
/// </summary>
public sealed class DifferentialTests
{
    private readonly ITestOutputHelper _output;

    public DifferentialTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> HandWrittenTraces()
    {
        var data = new TheoryData<string>();
        string dir = Path.Combine(AppContext.BaseDirectory, "Traces");
        foreach (string f in Directory.GetFiles(dir, "*.trace").OrderBy(f => f, StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(f));
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(HandWrittenTraces))]
    [Trait("Linux", "host kernel: hand-written traces give the kernel's results and maps")]
    public void HandWrittenTraceMatchesTheKernel(string name)
    {
        Skip.If(KernelOracle.Binary is null, KernelOracle.SkipReason);
        string text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Traces", name));
        DifferentialRunner.Outcome outcome = DifferentialRunner.Run(text, name);
        Assert.True(outcome.Differences.Count == 0, outcome.Report(name));
    }

    [SkippableFact]
    [Trait("Linux", "host kernel: random anonymous-memory traces (40+ calls, ~15% bad arguments) match results and final maps")]
    public void RandomTracesMatchTheKernel()
    {
        Skip.If(KernelOracle.Binary is null, KernelOracle.SkipReason);
        // MAPWRIGHT_DIFF_TRACES raises the count for a longer local soak; CI runs the default 200.
        int traces = int.TryParse(Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_TRACES"), out int n) && n > 0 ? n : 200;
        int firstSeed = int.TryParse(Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_SEED"), out int s0) ? s0 : 1;
        int totalCalls = 0, matchedCalls = 0, mapsMatched = 0;
        var failures = new List<string>();
        for (int seed = firstSeed; seed < firstSeed + traces; seed++)
        {
            int regionPages = 32 + (seed % 4 * 32);
            // MAPWRIGHT_DIFF_CALLS sets a fixed, longer length for a deeper soak.
            int calls = int.TryParse(Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_CALLS"), out int c) && c > 0 ? c : 40 + (seed % 5 * 10);
            string text = new RandomTraceGenerator(seed, OracleLayout.RegionTop, OracleLayout.BrkStart, regionPages).Generate(calls);
            DifferentialRunner.Outcome outcome = DifferentialRunner.Run(text, $"random-{seed}.trace", compareReferenced: false);
            if (outcome.Differences.Count != 0 && outcome.Differences.TrueForAll(d => d.Contains(": smaps() differ", StringComparison.Ordinal)))
            {
                // Page flags the kernel updates through per-CPU batches make smaps differ now and then between two
                // runs of the same trace on the host itself: a trace whose only differences are in smaps is run
                // again, and passes if the second run matches (reported below).
                DifferentialRunner.Outcome again = DifferentialRunner.Run(text, $"random-{seed}.trace", compareReferenced: false);
                if (again.Differences.Count == 0)
                {
                    _output.WriteLine($"seed {seed}: smaps matched on the second run (first: {outcome.Differences[0].Split('\n')[0]})");
                    outcome = again;
                }
            }

            totalCalls += outcome.Calls;
            matchedCalls += outcome.MatchedCalls;
            mapsMatched += outcome.FinalMapsMatch ? 1 : 0;
            if (outcome.Differences.Count != 0)
            {
                failures.Add(outcome.Report($"seed {seed}") + "\n--- trace ---\n" + text);
                _output.WriteLine($"seed {seed}: {outcome.Differences[0].Split('\n')[0]}");
                if (Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_DUMP") is { } dumpDir)
                {
                    Directory.CreateDirectory(dumpDir);
                    File.WriteAllText(Path.Combine(dumpDir, $"seed-{seed}.trace"), text);
                }
            }
        }

        _output.WriteLine($"{traces} traces, {totalCalls} calls: {matchedCalls} identical results, {mapsMatched} identical final maps");
        Assert.True(failures.Count == 0, $"{failures.Count} of {traces} traces differ; first:\n{(failures.Count > 0 ? failures[0] : string.Empty)}");
    }

    /// <summary>A developer tool: MAPWRIGHT_DIFF_FILE=path runs that trace with maps() after every call (as it is
    /// with MAPWRIGHT_DIFF_RAW set) and prints the whole comparison. Skipped otherwise.</summary>
    [SkippableFact]
    [Trait("Linux", "host kernel: developer replay of one trace")]
    public void ReplayOneTraceFile()
    {
        string? path = Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_FILE");
        Skip.If(path is null, "set MAPWRIGHT_DIFF_FILE to replay a trace file");
        Skip.If(KernelOracle.Binary is null, KernelOracle.SkipReason);
        var sb = new System.Text.StringBuilder();
        foreach (string line in File.ReadAllLines(path!))
        {
            sb.Append(line).Append('\n');
            if (Environment.GetEnvironmentVariable("MAPWRIGHT_DIFF_RAW") is null && line.Length > 0 && !line.StartsWith('#') && !line.StartsWith("maps", StringComparison.Ordinal))
            {
                sb.Append("maps()\n");
            }
        }

        DifferentialRunner.Outcome outcome = DifferentialRunner.Run(sb.ToString(), Path.GetFileName(path!));
        Assert.True(outcome.Differences.Count == 0, outcome.Report(path!));
    }
}
