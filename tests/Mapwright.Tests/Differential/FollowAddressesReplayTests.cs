using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Mapwright.Cli;
using Mapwright.Trace.Replay;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// Real programs (tests/kernel-oracle/follow.c, cat, ls, python3) run under strace with address randomisation ON,
/// replayed with <c>--follow-addresses</c> from the maps execve left: every call's result (and, for follow.c, the
/// maps at exit) must be the kernel's. The maps at exec are read while strace holds the program at the entry of its first system call
/// (strace's <c>-e inject=brk:delay_enter</c>: ld.so's first call is brk(NULL)), so they are execve's random layout,
/// before anything ran. Skipped where gcc, strace or setarch is missing, or randomisation is off on the host.
/// </summary>
public sealed class FollowAddressesReplayTests
{
    private readonly ITestOutputHelper _output;

    public FollowAddressesReplayTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [SkippableFact]
    [Trait("Linux", "host kernel with randomize_va_space=2: each address the kernel chose (mmap without MAP_FIXED, THP-aligned 4 MiB mappings, a free hint, mremap moves, the random start_brk) is one Linux could choose, and the rest of every result and the maps at exit follow from it")]
    public void ARealProgramCapturedWithRandomisationReplaysIdentically()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        Skip.IfNot(RealProgramReplayTests.Exists("strace") && RealProgramReplayTests.Exists("setarch") && RealProgramReplayTests.Exists("gcc"),
            "needs strace, setarch and gcc");
        Skip.IfNot(File.Exists("/proc/sys/kernel/randomize_va_space") && File.ReadAllText("/proc/sys/kernel/randomize_va_space").Trim() == "2",
            "needs address randomisation on (kernel.randomize_va_space = 2)");
        string dir = Directory.CreateTempSubdirectory("mapwright-follow-").FullName;
        try
        {
            string program = Path.Combine(dir, "follow");
            string gcc = RealProgramReplayTests.Run("gcc", ["-O1", "-o", program, Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "follow.c")]);
            Assert.True(File.Exists(program), "gcc failed: " + gcc);
            string mapsCopy = Path.Combine(dir, "maps-at-exit");
            string tracePath = Path.Combine(dir, "follow.strace");

            // setarch x86_64 sets a plain personality: randomisation on, whatever this test process inherited.
            string execMaps = TraceHoldingAtFirstBrk(["setarch", "x86_64", "strace", "-o", tracePath, "-e", "inject=brk:delay_enter=2000000:when=1", program, program, mapsCopy], program);
            string trace = File.ReadAllText(tracePath);
            string kernelMaps = File.ReadAllText(mapsCopy);
            _output.WriteLine(execMaps);
            _output.WriteLine(trace);

            // Randomised: the stack is not at the top of the 47-bit space, as it is with randomisation off.
            Assert.DoesNotContain("-7ffffffff000 ", execMaps, StringComparison.Ordinal);
            Assert.Contains("[stack]", execMaps, StringComparison.Ordinal);

            int exitAt = trace.IndexOf("exit_group(", StringComparison.Ordinal);
            Assert.True(exitAt > 0, "no exit_group in the trace");
            trace = trace[..exitAt] + "maps()\n" + trace[exitAt..];

            var options = new TraceRunOptions { Check = true, FollowAddresses = true, InitialMapsText = execMaps, InitialMapsName = "execve-maps" };
            (int exit, string output) = Replay(trace, tracePath, options);
            _output.WriteLine(output);
            Assert.True(exit == 0, $"exit {exit}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
            Match summary = Regex.Match(output, @"calls: (\d+) executed, (\d+) matched, 0 diverged");
            Assert.True(summary.Success, output);
            Assert.True(int.Parse(summary.Groups[2].Value, CultureInfo.InvariantCulture) >= 30, summary.Value);

            string modelMaps = output[(output.IndexOf("maps()\n", StringComparison.Ordinal) + "maps()\n".Length)..];
            modelMaps = modelMaps[..modelMaps.IndexOf("exit_group(", StringComparison.Ordinal)];
            Assert.Equal(DifferentialRunner.NormalizeInodes(kernelMaps), DifferentialRunner.NormalizeInodes(modelMaps));

            // Without following, the model's own (unrandomised) choices are not the kernel's.
            (int exitPlain, string plain) = Replay(trace, tracePath, options with { FollowAddresses = false });
            Assert.Equal(ExitCodes.Diverged, exitPlain);
            Assert.Matches(@"calls: \d+ executed, \d+ matched, [1-9]\d* diverged", plain);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("/usr/bin/cat", "/dev/null")]
    [InlineData("/usr/bin/ls", "/")]
    [InlineData("/usr/bin/python3", "-c pass")]
    [Trait("Linux", "host kernel with randomize_va_space=2: ld.so's and the program's hint-less mmaps, the random start_brk and the heap's growth of a real program are addresses Linux could choose, and every other result follows")]
    public void SystemProgramsCapturedWithRandomisationReplayIdentically(string program, string args)
    {
        SkipUnlessRandomisedCapture(program);
        string dir = Directory.CreateTempSubdirectory("mapwright-follow-").FullName;
        try
        {
            string tracePath = Path.Combine(dir, Path.GetFileName(program) + ".strace");
            string execMaps = TraceHoldingAtFirstBrk(["setarch", "x86_64", "strace", "-o", tracePath, "-e", "inject=brk:delay_enter=1000000:when=1", program, .. args.Split(' ')], program);
            string trace = File.ReadAllText(tracePath);
            Assert.DoesNotContain("-7ffffffff000 ", execMaps, StringComparison.Ordinal);

            var options = new TraceRunOptions { Check = true, FollowAddresses = true, InitialMapsText = execMaps, InitialMapsName = "execve-maps" };
            AssertReplaysWithoutDivergence(trace, tracePath, options, program);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("/usr/bin/cat", "/dev/null")]
    [InlineData("/usr/bin/ls", "-la /usr")]
    [InlineData("/usr/bin/python3", "-c pass")]
    [InlineData("/usr/bin/bash", "-c true")]
    [Trait("Linux", "host kernel with randomize_va_space=2, a plain strace log (no maps at exec): the model redoes execve, then takes the random break, moves the PIE and ld.so to where ld.so's mprotect of their RELRO pages shows them (a load bias Linux could draw), and every result follows")]
    public void PlainLogsOfRandomisedProgramsReplayIdentically(string program, string args)
    {
        SkipUnlessRandomisedCapture(program);
        string dir = Directory.CreateTempSubdirectory("mapwright-follow-").FullName;
        try
        {
            // A user's log: strace -f -o FILE, nothing else; setarch x86_64 keeps randomisation on whatever this
            // test process inherited.
            string tracePath = Path.Combine(dir, Path.GetFileName(program) + ".strace");
            RealProgramReplayTests.Run("setarch", ["x86_64", "strace", "-f", "-o", tracePath, program, .. args.Split(' ')]);
            string trace = File.ReadAllText(tracePath);
            Assert.Matches(@"^\d+ +execve\(", trace);

            var options = new TraceRunOptions { Check = true, FollowAddresses = true };
            AssertReplaysWithoutDivergence(trace, tracePath, options, program);

            // The log is randomised: without following, the model's own layout is not the kernel's.
            (int exitPlain, string plain) = Replay(trace, tracePath, options with { FollowAddresses = false });
            Assert.Equal(ExitCodes.Diverged, exitPlain);
            Assert.Matches(@"calls: \d+ executed, \d+ matched, [1-9]\d* diverged", plain);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void SkipUnlessRandomisedCapture(string program)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(program), "needs Linux and " + program);
        Skip.IfNot(RealProgramReplayTests.Exists("strace") && RealProgramReplayTests.Exists("setarch"), "needs strace and setarch");
        Skip.IfNot(File.Exists("/proc/sys/kernel/randomize_va_space") && File.ReadAllText("/proc/sys/kernel/randomize_va_space").Trim() == "2",
            "needs address randomisation on (kernel.randomize_va_space = 2)");
    }

    /// <summary>Every call of the log matched: exit 0, calls executed and matched, none diverged.</summary>
    private void AssertReplaysWithoutDivergence(string trace, string tracePath, TraceRunOptions options, string program)
    {
        (int exit, string output) = Replay(trace, tracePath, options);
        string summary = output.Split('\n').Last(l => l.StartsWith("calls:", StringComparison.Ordinal));
        _output.WriteLine(program + ": " + summary);
        Assert.True(exit == 0, $"exit {exit}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
        Assert.Matches(@"calls: [1-9]\d* executed, [1-9]\d* matched, 0 diverged", summary);
    }

    private static (int Exit, string Output) Replay(string trace, string name, TraceRunOptions options)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, name, options, stdout, stderr);
        return (exit, stdout.ToString().ReplaceLineEndings("\n") + stderr);
    }

    /// <summary>
    /// Runs <paramref name="command"/> (strace with a delayed first brk) and returns /proc/PID/maps of the traced
    /// <paramref name="program"/> read while strace holds it at the entry of that brk: the process is in a tracing
    /// stop in system call 12 before and after the read, so nothing ran in between. Waits for the command to end.
    /// </summary>
    private static string TraceHoldingAtFirstBrk(string[] command, string program)
    {
        var psi = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in command[1..])
        {
            psi.ArgumentList.Add(a);
        }

        using Process strace = Process.Start(psi)!;
        Task<string> err = strace.StandardError.ReadToEndAsync();
        Task<string> outText = strace.StandardOutput.ReadToEndAsync();
        string? maps = null;
        string exe = new FileInfo(program).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? program;
        var clock = Stopwatch.StartNew();
        while (maps is null && clock.Elapsed < TimeSpan.FromSeconds(20) && !strace.HasExited)
        {
            foreach (int child in Children(strace.Id))
            {
                if (HeldAtBrk(child, exe))
                {
                    string text = File.ReadAllText($"/proc/{child}/maps");
                    if (HeldAtBrk(child, exe))
                    {
                        maps = text;
                    }
                }
            }

            Thread.Sleep(2);
        }

        if (!strace.WaitForExit(60_000))
        {
            strace.Kill(entireProcessTree: true);
        }

        Assert.True(maps is not null, "the traced program was never seen held at its first brk: " + err.Result + outText.Result);

        // Held at ld.so's first brk: nothing but execve's mappings yet (no library).
        Assert.DoesNotContain("libc.so", maps, StringComparison.Ordinal);
        return maps!;
    }

    private static List<int> Children(int pid)
    {
        var children = new List<int>();
        try
        {
            foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
            {
                foreach (string c in File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    children.Add(int.Parse(c, CultureInfo.InvariantCulture));
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return children;
    }

    /// <summary>The process runs <paramref name="program"/> and is in a tracing stop at the entry of brk.</summary>
    private static bool HeldAtBrk(int pid, string program)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state == 't'
                && new FileInfo($"/proc/{pid}/exe").LinkTarget == program
                && File.ReadAllText($"/proc/{pid}/syscall").StartsWith("12 ", StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
