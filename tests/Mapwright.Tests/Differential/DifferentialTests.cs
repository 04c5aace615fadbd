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
        const int traces = 200;
        int totalCalls = 0, matchedCalls = 0, mapsMatched = 0;
        var failures = new List<string>();
        for (int seed = 1; seed <= traces; seed++)
        {
            string text = new RandomTraceGenerator(seed, OracleLayout.RegionTop, OracleLayout.BrkStart).Generate(48);
            DifferentialRunner.Outcome outcome = DifferentialRunner.Run(text, $"random-{seed}.trace");
            totalCalls += outcome.Calls;
            matchedCalls += outcome.MatchedCalls;
            mapsMatched += outcome.FinalMapsMatch ? 1 : 0;
            if (outcome.Differences.Count != 0)
            {
                failures.Add(outcome.Report($"seed {seed}") + "\n--- trace ---\n" + text);
            }
        }

        _output.WriteLine($"{traces} traces, {totalCalls} calls: {matchedCalls} identical results, {mapsMatched} identical final maps");
        Assert.True(failures.Count == 0, $"{failures.Count} of {traces} traces differ; first:\n{(failures.Count > 0 ? failures[0] : string.Empty)}");
    }
}
