using System.Diagnostics;
using System.Globalization;

namespace Mapwright.Bench;

/// <summary>
/// The whole-process replay comparison (<c>--replay-process</c>): <c>mapwright run</c> on the churn trace against
/// bench/native-replay/replay.c running the same calls on the host kernel, each timed from process start to exit
/// (start-up, parsing, the calls, printing every line) with its standard output sent to /dev/null. Rounds alternate
/// between the contenders; the medians and their ratio are printed. An untimed first round writes both outputs to
/// files and checks that they agree line by line over the trace's calls (each ends with its own summary line).
/// A NativeAOT build of the CLI, when one has been published, is a third contender.
/// </summary>
internal static class ReplayProcess
{
    public const int Rounds = 7;

    /// <summary>Starts the program with its standard output and error sent to files: sh only redirects and
    /// execs, so the timed process is the contender itself (plus one sh start-up, measured as the launcher).</summary>
    private const string Launcher = "out=$1; err=$2; shift 2; exec \"$@\" >\"$out\" 2>\"$err\"";

    private sealed record Contender(string Name, string Program, string[] Args);

    /// <summary>Runs the comparison and prints it to <paramref name="log"/>; returns the process exit code.</summary>
    public static int Run(TextWriter log)
    {
        if (!OperatingSystem.IsLinux())
        {
            log.WriteLine("replay-process: needs Linux (the native replayer runs the calls on the host kernel)");
            return 1;
        }

        string? root = FindRepoRoot();
        if (root is null)
        {
            log.WriteLine($"replay-process: no Mapwright.slnx above {AppContext.BaseDirectory}");
            return 1;
        }

        DirectoryInfo work = Directory.CreateTempSubdirectory("mapwright-replay-");
        try
        {
            return Compare(root, work.FullName, log);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static int Compare(string root, string work, TextWriter log)
    {
        string source = Path.Combine(root, "bench", "native-replay", "replay.c");
        string replay = Path.Combine(work, "replay");
        log.WriteLine($"building {source}");
        if (!NativeOracle.RunProcess("gcc", ["-O2", "-o", replay, source], out string gccOut, root))
        {
            log.WriteLine("replay-process: gcc failed:\n" + gccOut);
            return 1;
        }

        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        string cliProject = Path.Combine("src", "Mapwright.Cli");
        log.WriteLine($"building {cliProject} (Release)");
        if (!NativeOracle.RunProcess(dotnet, ["build", "-c", "Release", "--nologo", "-v", "q", cliProject], out string buildOut, root))
        {
            log.WriteLine("replay-process: dotnet build failed:\n" + buildOut);
            return 1;
        }

        string output = Path.Combine(root, "src", "Mapwright.Cli", "bin", "Release", "net10.0");
        string dll = Path.Combine(output, "Mapwright.Cli.dll");
        if (!File.Exists(dll))
        {
            log.WriteLine($"replay-process: {dll} not found after the build");
            return 1;
        }

        string trace = Path.Combine(work, "churn.trace");
        string text = ChurnTrace.Generate();
        File.WriteAllText(trace, text);
        int calls = text.Count(c => c == '\n');
        log.WriteLine($"trace: {calls} calls, {new FileInfo(trace).Length} bytes");

        var contenders = new List<Contender>
        {
            new("model (dotnet Mapwright.Cli.dll)", dotnet, [dll, "run", trace]),
            new("host kernel (native-replay)", replay, [trace]),
        };
        string aot = Path.Combine(output, "linux-x64", "publish", "Mapwright.Cli");
        if (File.Exists(aot))
        {
            contenders.Add(new("model (NativeAOT Mapwright.Cli)", aot, ["run", trace]));
        }
        else
        {
            log.WriteLine($"no NativeAOT build at {aot}; timing the framework-dependent CLI only");
        }

        // Untimed first round: warms the page cache and the runtime's files, and keeps both outputs to compare.
        var outputs = new List<string>();
        foreach (Contender c in contenders)
        {
            string file = Path.Combine(work, $"out-{outputs.Count}.txt");
            if (Launch(c, file, work, log) is null)
            {
                return 1;
            }

            outputs.Add(file);
        }

        bool allAgree = true;
        for (int i = 0; i < outputs.Count; i++)
        {
            if (i != 1)
            {
                allAgree &= ReportAgreement(contenders[i].Name, outputs[i], contenders[1].Name, outputs[1], calls, log);
            }
        }

        Contender baseline = new("launcher (sh, exec /bin/true)", "/bin/true", []);
        var times = contenders.Select(_ => new List<double>()).ToList();
        var launcher = new List<double>();
        log.WriteLine();
        for (int round = 1; round <= Rounds; round++)
        {
            var line = new List<string>();
            for (int i = 0; i < contenders.Count; i++)
            {
                if (Launch(contenders[i], "/dev/null", work, log) is not { } ms)
                {
                    return 1;
                }

                times[i].Add(ms);
                line.Add($"{ShortName(contenders[i])} {F(ms, "F0")} ms");
            }

            launcher.Add(Launch(baseline, "/dev/null", work, log) ?? double.NaN);
            log.WriteLine($"round {round}: {string.Join(", ", line)}");
        }

        log.WriteLine();
        log.WriteLine($"whole process, {calls} calls, median of {Rounds} alternating rounds (stdout to /dev/null):");
        for (int i = 0; i < contenders.Count; i++)
        {
            double median = Median(times[i]);
            double nsPerCall = median * 1e6 / calls;
            log.WriteLine($"  {contenders[i].Name,-36} {F(median, "F0"),7} ms  (min {F(times[i].Min(), "F0")}, max {F(times[i].Max(), "F0")})  {F(nsPerCall, "F0")} ns/call  {F(calls / (median / 1000), "N0")} calls/s");
        }

        log.WriteLine($"  {baseline.Name,-36} {F(Median(launcher), "F1"),7} ms  (included in every figure above)");
        double native = Median(times[1]);
        log.WriteLine($"model whole-process / host kernel: {F(Median(times[0]) / native, "F2")}");
        if (contenders.Count > 2)
        {
            log.WriteLine($"model NativeAOT whole-process / host kernel: {F(Median(times[2]) / native, "F2")}");
        }

        log.WriteLine($"outputs agree over the first {calls} lines: {(allAgree ? "yes" : "no")}");
        return allAgree ? 0 : 2;
    }

    /// <summary>Compares the first <paramref name="lines"/> lines of two outputs and prints the result, with the
    /// first difference and each one's remaining (summary) lines.</summary>
    private static bool ReportAgreement(string nameA, string fileA, string nameB, string fileB, int lines, TextWriter log)
    {
        using var a = new StreamReader(fileA);
        using var b = new StreamReader(fileB);
        int differing = 0;
        string? first = null;
        for (int n = 1; n <= lines; n++)
        {
            string? la = a.ReadLine();
            string? lb = b.ReadLine();
            if (la == lb && la is not null)
            {
                continue;
            }

            differing++;
            first ??= $"line {n}:\n    {nameA}: {la ?? "<end of output>"}\n    {nameB}: {lb ?? "<end of output>"}";
        }

        string restA = a.ReadToEnd().TrimEnd('\n').Replace("\n", " | ", StringComparison.Ordinal);
        string restB = b.ReadToEnd().TrimEnd('\n').Replace("\n", " | ", StringComparison.Ordinal);
        log.WriteLine($"{nameA} vs {nameB}: first {lines} lines {(differing == 0 ? "agree" : $"differ on {differing} lines, first at {first}")}");
        log.WriteLine($"    then {nameA}: {restA}");
        log.WriteLine($"    then {nameB}: {restB}");
        return differing == 0;
    }

    /// <summary>Runs one contender through the launcher with its output to <paramref name="stdout"/>; returns the
    /// wall time in milliseconds, or null (after printing why) when it failed.</summary>
    private static double? Launch(Contender c, string stdout, string work, TextWriter log)
    {
        string stderr = Path.Combine(work, "stderr.txt");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        foreach (string a in (string[])["-c", Launcher, "sh", stdout, stderr, c.Program, .. c.Args])
        {
            psi.ArgumentList.Add(a);
        }

        long start = Stopwatch.GetTimestamp();
        using Process p = Process.Start(psi) ?? throw new InvalidOperationException("/bin/sh did not start");
        p.WaitForExit();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        if (p.ExitCode != 0)
        {
            log.WriteLine($"replay-process: {c.Program} exited with {p.ExitCode}: {File.ReadAllText(stderr).Trim()}");
            return null;
        }

        return ms;
    }

    private static string? FindRepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Mapwright.slnx")))
            {
                return d.FullName;
            }
        }

        return null;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string ShortName(Contender c) => c.Name[..c.Name.IndexOf(' ', StringComparison.Ordinal)] switch
    {
        "model" when c.Name.Contains("NativeAOT", StringComparison.Ordinal) => "aot",
        "host" => "native",
        string s => s,
    };

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
