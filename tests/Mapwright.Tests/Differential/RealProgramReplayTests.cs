using System.Diagnostics;
using System.Text.RegularExpressions;
using Mapwright.Cli;
using Mapwright.Trace.Replay;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// Real single-threaded programs, traced with strace (address randomisation off), replayed from the maps
/// execve left (read with gdb at the first instruction) and nothing else: every call, every mmap address included, must give
/// the traced result. Skipped where gdb, strace or setarch is missing.
/// </summary>
public sealed partial class RealProgramReplayTests
{
    private readonly ITestOutputHelper _output;

    public RealProgramReplayTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [GeneratedRegex(@"^brk\(NULL\)\s+= (0x[0-9a-f]+)", RegexOptions.Multiline)]
    private static partial Regex FirstBrk();

    [SkippableTheory]
    [InlineData("/usr/bin/cat", "/dev/null")]
    [InlineData("/usr/bin/ls", "/")]
    [InlineData("/usr/bin/python3", "-c pass")]
    [Trait("Linux", "host kernel: a real program's strace replays with the same result for every call, every mmap address included")]
    public void StraceOfARealProgramReplaysIdentically(string program, string args)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(program), "needs Linux and " + program);
        Skip.IfNot(Exists("gdb") && Exists("strace") && Exists("setarch"), "needs gdb, strace and setarch");
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-replay-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string tracePath = Path.Combine(dir, Path.GetFileName(program) + ".strace");
        string[] argv = args.Split(' ');

        // The layout execve leaves, before the first instruction runs (gdb turns randomisation off).
        string gdbOut = Run("gdb", ["-batch", "-nx", "-ex", "starti", "-ex", "python print(open('/proc/%d/maps' % gdb.selected_inferior().pid).read())", "--args", program, .. argv]);
        string maps = string.Join('\n', gdbOut.Split('\n').Where(l => Regex.IsMatch(l, "^[0-9a-f]+-[0-9a-f]+ "))) + "\n";
        Skip.If(maps.Length < 10, "gdb could not start the program: " + gdbOut);

        Run("setarch", ["-R", "strace", "-o", tracePath, program, .. argv]);
        string trace = File.ReadAllText(tracePath);
        Assert.True(FirstBrk().IsMatch(trace), "no brk(NULL) in the trace");

        // The maps alone: the program break follows from them as execve set it (no --brk-start).
        var options = new TraceRunOptions
        {
            Check = true,
            InitialMapsText = maps,
            InitialMapsName = "execve-maps",
        };
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, tracePath, options, stdout, stderr);
        string output = stdout.ToString();
        string summary = output.Split('\n').Last(l => l.StartsWith("calls:", StringComparison.Ordinal));
        _output.WriteLine(program + ": " + summary);
        Assert.True(exit == 0, $"exit {exit}\n{stderr}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
        Assert.Matches(@"calls: [1-9]\d* executed, [1-9]\d* matched, 0 diverged", summary);
        Assert.Contains("mmap(", output, StringComparison.Ordinal);
    }

    internal static bool Exists(string tool) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    internal static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
        }

        return output + err.Result;
    }
}
