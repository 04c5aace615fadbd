using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Mapwright.Bench;

// Usage: dotnet run -c Release --project bench/Mapwright.Bench [-- [--quick] [--vma | --paging]]
// Runs the model's benchmarks with BenchmarkDotNet, then the native kernel's (tests/kernel-oracle --bench),
// and prints them side by side with the ratios the issues ask for. --vma runs only the VMA benchmarks,
// --paging only the page benchmarks (first touch, access, memory cost).
if (args.Length == 2 && args[0] == "--write-churn")
{
    // The replay benchmark's trace, for timing `mapwright run` by hand or with the native replayer.
    File.WriteAllText(args[1], ChurnTrace.Generate());
    return;
}

bool quick = args.Contains("--quick");
bool vma = !args.Contains("--paging");
bool paging = !args.Contains("--vma");
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
    // First touch needs a fresh mapping per iteration: more iterations, one invocation each.
    IConfig touchConfig = DefaultConfig.Instance
        .AddJob(Job.Default.WithWarmupCount(2).WithIterationCount(quick ? 8 : 20).WithInvocationCount(1).WithUnrollFactor(1))
        .WithOptions(ConfigOptions.DisableOptimizationsValidator);
    pagingSummaries.Add(BenchmarkRunner.Run<FirstTouchBenchmark>(touchConfig));
    pagingSummaries.Add(BenchmarkRunner.Run<AccessBenchmark>(config));
    pagingSummaries.Add(BenchmarkRunner.Run<ResidentPageCostBenchmark>(config));
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

Dictionary<(string Op, int Vmas), double?> native = NativeOracle.Run(Console.Out);
Console.WriteLine();
Console.WriteLine($"{"operation",-22} {"VMAs",9} {"model ns",10} {"native ns",10} {"model/native",13}");
foreach (var ((op, vmas), ns) in model.OrderBy(k => k.Key.Op, StringComparer.Ordinal).ThenBy(k => k.Key.Vmas))
{
    string nativeText = native.TryGetValue((op, vmas), out double? n) ? (n is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : "n/a") : "-";
    string ratio = n is { } nv && nv > 0 ? (ns / nv).ToString("F3", CultureInfo.InvariantCulture) : "-";
    Console.WriteLine($"{op,-22} {vmas,9} {ns,10:F1} {nativeText,10} {ratio,13}");
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
