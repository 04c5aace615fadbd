using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Mapwright.Bench;

// Usage: dotnet run -c Release --project bench/Mapwright.Bench [-- [--quick] [--vma] [--paging] [--replay]]
// Runs the model's benchmarks with BenchmarkDotNet, then the native kernel's (tests/kernel-oracle --bench),
// and prints them side by side with the ratios the issues ask for. --vma runs only the VMA benchmarks,
// --paging only the page benchmarks (first touch, access, memory cost), --replay only the in-process replay
// of the churn trace (calls per second); with none of them, all run.
//        dotnet run -c Release --project bench/Mapwright.Bench -- --replay-process
// Times whole processes instead: `mapwright run` on the churn trace against bench/native-replay on the host kernel.
//        dotnet run -c Release --project bench/Mapwright.Bench -- --write-churn FILE [CALLS]
// Writes the churn trace (of CALLS calls) to FILE, e.g. for `mapwright report` (docs/report.md, "Size").
if (args.Length is 2 or 3 && args[0] == "--write-churn")
{
    // The replay benchmark's trace (or one of CALLS calls), for timing `mapwright run` or `report` by hand or with
    // the native replayer.
    File.WriteAllText(args[1], args.Length == 3 ? ChurnTrace.Generate(int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)) : ChurnTrace.Generate());
    return;
}

if (args.Contains("--replay-process"))
{
    Environment.ExitCode = ReplayProcess.Run(Console.Out);
    return;
}

bool quick = args.Contains("--quick");
bool all = !args.Contains("--vma") && !args.Contains("--paging") && !args.Contains("--replay");
bool vma = all || args.Contains("--vma");
bool paging = all || args.Contains("--paging");
bool replay = all || args.Contains("--replay");
IConfig config = DefaultConfig.Instance
    .AddJob(quick ? Job.ShortRun : Job.Default.WithWarmupCount(3).WithIterationCount(10))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);

var summaries = new List<Summary>();
if (vma)
{
    summaries.Add(BenchmarkRunner.Run<MmapMunmapBenchmark>(config));
    summaries.Add(BenchmarkRunner.Run<MprotectSplitMergeBenchmark>(config));
    summaries.Add(BenchmarkRunner.Run<LookupBenchmark>(config));
}

var pagingSummaries = new List<Summary>();
if (paging)
{
    // First touch needs a fresh mapping per iteration: more iterations, one invocation each. With one invocation per
    // iteration the tiered JIT reaches the fault path's final code only after some ten iterations (each iteration's
    // log showed 240 ns per page for seven, then 24 ns): forty warm-up iterations (about half a second) keep those
    // out of the measurement, which is the steady state, as the other benchmarks measure it.
    IConfig touchConfig = DefaultConfig.Instance
        .AddJob(Job.Default.WithWarmupCount(40).WithIterationCount(quick ? 8 : 20).WithInvocationCount(1).WithUnrollFactor(1))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
    pagingSummaries.Add(BenchmarkRunner.Run<FirstTouchBenchmark>(touchConfig));
    pagingSummaries.Add(BenchmarkRunner.Run<AccessBenchmark>(config));
    pagingSummaries.Add(BenchmarkRunner.Run<ResidentPageCostBenchmark>(config));
}

Summary? replaySummary = null;
if (replay)
{
    // A whole trace per invocation (tens to hundreds of ms): no unrolling, so the pilot stage picks one or a few
    // invocations per iteration; fewer iterations than the other benchmarks.
    IConfig replayConfig = DefaultConfig.Instance
        .AddJob(Job.Default.WithWarmupCount(quick ? 1 : 2).WithIterationCount(quick ? 5 : 10).WithUnrollFactor(1))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
    replaySummary = BenchmarkRunner.Run<ReplayBenchmark>(replayConfig);
}

var model = new Dictionary<(string Op, int Vmas), double>();
foreach (Summary s in summaries)
{
    foreach (BenchmarkReport r in s.Reports)
    {
        if (r.ResultStatistics is null)
        {
            continue;
        }

        if (!r.BenchmarkCase.Parameters.Items.Any(p => p.Name == "Vmas"))
        {
            continue;
        }

        int vmas = (int)r.BenchmarkCase.Parameters["Vmas"];
        string op = r.BenchmarkCase.Descriptor.WorkloadMethod.Name switch
        {
            "MmapMunmap" => "mmap_munmap",
            "SplitAndMerge" => "mprotect_split_merge",
            "MincoreOnePage" => "lookup_mincore",
            "FindVma" => "find_vma",
            string other => other,
        };
        model[(op, vmas)] = r.ResultStatistics.Mean;
    }
}

Dictionary<(string Op, int Vmas), double?> native = vma || paging ? NativeOracle.Run(Console.Out) : [];
if (vma)
{
    Console.WriteLine();
    Console.WriteLine($"{"operation",-22} {"VMAs",9} {"model ns",10} {"native ns",10} {"model/native",13}");
    foreach (var ((op, vmas), ns) in model.OrderBy(k => k.Key.Op, StringComparer.Ordinal).ThenBy(k => k.Key.Vmas))
    {
        string nativeText = native.TryGetValue((op, vmas), out double? n) ? (n is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "n/a") : "-";
        string ratio = n is { } nv && nv > 0 ? (ns / nv).ToString("F3", CultureInfo.InvariantCulture) : "-";
        Console.WriteLine($"{op,-22} {vmas,9} {ns,10:F1} {nativeText,10} {ratio,13}");
    }
}

if (model.TryGetValue(("mmap_munmap", 100), out double at100) && model.TryGetValue(("mmap_munmap", 1_000_000), out double at1m))
{
    Console.WriteLine($"mmap_munmap at 1M VMAs / at 100 VMAs: {(at1m / at100).ToString("F2", CultureInfo.InvariantCulture)} (target <= 2)");
}

if (model.TryGetValue(("mmap_munmap", 65_000), out double m65) && native.TryGetValue(("mmap_munmap", 65_000), out double? n65) && n65 is { } nn65)
{
    Console.WriteLine($"mmap_munmap at 65k VMAs, model / native: {(m65 / nn65).ToString("F3", CultureInfo.InvariantCulture)} (target <= 0.2)");
}

if (paging)
{
    Console.WriteLine();
    Console.WriteLine($"{"paging benchmark",-34} {"model ns",10} {"native ns",10} {"model/native",13} {"allocated B/op",15}");
    foreach (Summary s in pagingSummaries)
    {
        foreach (BenchmarkReport r in s.Reports)
        {
            if (r.ResultStatistics is null)
            {
                continue;
            }

            string method = r.BenchmarkCase.Descriptor.WorkloadMethod.Name;
            string name = method == "Touch" ? "first_touch_" + r.BenchmarkCase.Parameters["Access"] : method;
            double ns = r.ResultStatistics.Mean;
            double? nativeNs = native.TryGetValue((name, 0), out double? nv) ? nv : null;
            string ratio = nativeNs is { } n0 && n0 > 0 ? (ns / n0).ToString("F3", CultureInfo.InvariantCulture) : "-";
            long? bytes = r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase);
            Console.WriteLine($"{name,-34} {ns,10:F1} {(nativeNs is { } n1 ? n1.ToString("F1", CultureInfo.InvariantCulture) : "-"),10} {ratio,13} {bytes,15}");
        }
    }

    Console.WriteLine("targets: first touch model/native <= 0.1; WriteEveryPageOfFreshProcess allocated <= 4160 B per page; MapUntouchedGigabyte allocated independent of size");
}

if (replaySummary is not null)
{
    Console.WriteLine();
    Console.WriteLine($"replay, in-process, churn trace of {ReplayBenchmark.Calls} calls (trace in memory, echo to Stream.Null):");
    Console.WriteLine($"{"benchmark",-12} {"mean ms",10} {"median ms",10} {"calls/s",12} {"ns/call",9} {"allocated B",14}");
    double total = 0;
    int measured = 0;
    foreach (BenchmarkReport r in replaySummary.Reports)
    {
        if (r.ResultStatistics is null)
        {
            continue;
        }

        double mean = r.ResultStatistics.Mean;
        total += mean;
        measured++;
        long? bytes = r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase);
        Console.WriteLine($"{r.BenchmarkCase.Descriptor.WorkloadMethod.Name,-12} {mean / 1e6,10:F1} {r.ResultStatistics.Median / 1e6,10:F1} {ReplayBenchmark.Calls / (mean / 1e9),12:N0} {mean / ReplayBenchmark.Calls,9:F0} {bytes,14:N0}");
    }

    if (measured == 2)
    {
        // `mapwright run FILE` validates the whole file, then replays it.
        Console.WriteLine($"{"both",-12} {total / 1e6,10:F1} {"",10} {ReplayBenchmark.Calls / (total / 1e9),12:N0} {total / ReplayBenchmark.Calls,9:F0}   (what `mapwright run FILE` does after start-up)");
    }
}
