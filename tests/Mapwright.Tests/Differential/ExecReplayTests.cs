using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Mapwright.Cli;
using Mapwright.Mm.Exec;
using Mapwright.Trace.Replay;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// execve lines in a replayed trace: the address space is built from the line alone and must be the kernel's
/// (maps), a child's exec replaces only the child's, close-on-exec descriptors go, and a real program's plain
/// strace log replays with every checked result identical from its execve line on.
/// </summary>
public sealed partial class ExecReplayTests
{
    private readonly ITestOutputHelper _output;

    public ExecReplayTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [GeneratedRegex(@"^(?:\d+ )?maps\(\)\n((?:[0-9a-f]+-[0-9a-f]+ .*\n)+)", RegexOptions.Multiline)]
    private static partial Regex MapsBlock();

    [SkippableFact]
    [Trait("Linux", "fs/exec.c do_execveat_common(): an strace execve line (-v form) builds the kernel's address space; a forked child's exec replaces only the child's; kernel/fork.c vfork shares until exec")]
    public void ExecveLinesBuildTheKernelsAddressSpace()
    {
        Skip.If(ExecOracle.Binary is null, ExecOracle.SkipReason);
        string env = string.Join(", ", Enumerable.Range(0, 30).Select(i => $"\"V{i}={new string('e', 150)}\""));
        string trace = $"""
            execve("/usr/bin/true", ["true", "a b\"c"], [{env}]) = 0
            maps()
            fork() = 2
            2 execve("/usr/bin/ls", ["ls"], []) = 0
            2 maps()
            vfork() = 3
            3 execve("/usr/bin/true", ["true"], NULL) = 0
            3 maps()
            fork() = 4
            4 openat(AT_FDCWD, "/usr/bin/true", O_RDONLY) = 3
            4 execveat(3, "", ["true"], [], AT_EMPTY_PATH) = 0
            4 maps()
            maps()
            """;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "exec.trace", new TraceRunOptions { Check = true }, stdout, stderr);
        Assert.True(exit == 0, stderr.ToString() + stdout);
        string[] maps = [.. MapsBlock().Matches(stdout.ToString()).Select(m => m.Groups[1].Value)];
        Assert.Equal(5, maps.Length);

        List<string> envList = [.. Enumerable.Range(0, 30).Select(i => $"V{i}={new string('e', 150)}")];
        List<(int Errno, string Maps)> kernel = ExecOracle.Run(
        [
            ExecRequest.FromStrings("/usr/bin/true", ["true", "a b\"c"], envList),
            ExecRequest.FromStrings("/usr/bin/ls", ["ls"], []),
            ExecRequest.FromStrings("/usr/bin/true", ["true"], []),
        ]);
        Assert.Equal(kernel[0].Maps, maps[0]);
        Assert.Equal(kernel[1].Maps, maps[1]);
        Assert.Equal(kernel[2].Maps, maps[2]);
        Assert.Equal(kernel[2].Maps, maps[3]);
        // The parent is untouched by its children's execs.
        Assert.Equal(maps[0], maps[4]);
    }

    [Fact]
    [Trait("Linux", "fs/file.c do_close_on_exec(): descriptors opened O_CLOEXEC (or MFD_CLOEXEC) are closed by execve, the others stay")]
    public void CloseOnExecDescriptorsAreClosedByExecve()
    {
        string trace = """
            openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = 3
            openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4
            memfd_create("m", MFD_CLOEXEC) = 5
            memfd_create("n", 0) = 6
            execve("/usr/bin/true", ["true"], []) = 0
            close(3) = -1 EBADF (Bad file descriptor)
            close(4) = 0
            close(5) = -1 EBADF (Bad file descriptor)
            close(6) = 0
            execve("/nonexistent", ["x"], []) = -1 ENOENT (No such file or directory)
            """;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "cloexec.trace", new TraceRunOptions { Check = true }, stdout, stderr);
        Assert.True(exit == 0, stderr.ToString() + stdout);
        Assert.Contains("calls: 10 executed, 10 matched, 0 diverged", stdout.ToString(), StringComparison.Ordinal);
    }

    [SkippableFact]
    [Trait("Linux", "fs/exec.c copy_strings(): without -v the environment is taken from --env-file; its size sizes the stack as the kernel's")]
    public void EnvFileGivesTheEnvironmentStraceDidNotShow()
    {
        Skip.If(ExecOracle.Binary is null, ExecOracle.SkipReason);
        List<string> env = [.. Enumerable.Range(0, 40).Select(i => $"BIG{i}={new string('b', 2500)}")];
        var options = new TraceRunOptions
        {
            Check = true,
            ExecEnvironment = [.. env.Select(e => Encoding.UTF8.GetBytes(e))],
        };
        string trace = "execve(\"/usr/bin/true\", [\"true\"], 0x7fffffffe5f0 /* 40 vars */) = 0\nmaps()\n";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, RunCommand.RunText(trace, "env.trace", options, stdout, stderr));
        Assert.Contains("# note env.trace:1: execve: environment not in the log", stdout.ToString(), StringComparison.Ordinal);
        string maps = MapsBlock().Match(stdout.ToString()).Groups[1].Value;
        List<(int Errno, string Maps)> kernel = ExecOracle.Run([ExecRequest.FromStrings("/usr/bin/true", ["true"], env)]);
        Assert.Equal(kernel[0].Maps, maps);
    }

    [Fact]
    [Trait("Rule", "docs/divergences.md host files: a plain log's relative paths start from the PWD of the environment assumed for its execve (mapwright's own, or --env-file's), as a log is most often replayed where it was taken")]
    public void APlainLogsRelativePathsStartFromTheAssumedEnvironmentsPwd()
    {
        string dir = Directory.CreateTempSubdirectory("mapwright-pwd-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "rel.txt"), "x");
            var options = new TraceRunOptions { Check = true, ExecEnvironment = [Encoding.UTF8.GetBytes("PWD=" + dir)] };
            string trace = "execve(\"/usr/bin/true\", [\"true\"], 0x7fffffffe5f0 /* 1 var */) = 0\nopenat(AT_FDCWD, \"rel.txt\", O_RDONLY) = 3\n";
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            int exit = RunCommand.RunText(trace, "pwd.trace", options, stdout, stderr);
            Assert.True(exit == 0, stdout.ToString());
            Assert.Contains("calls: 2 executed, 2 matched, 0 diverged", stdout.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableTheory]
    [InlineData("/usr/bin/true", "", false)]
    [InlineData("/usr/bin/ls", "/", false)]
    [InlineData("/usr/bin/cat", "/dev/null", true)]
    [InlineData("/usr/bin/python3", "-c pass", true)]
    [InlineData("/lib64/ld-linux-x86-64.so.2", "/usr/bin/true", false)]
    [Trait("Linux", "host kernel: a real program's strace log (randomisation off) replays from its execve line alone, every brk and mmap address identical (ld.so run directly included)")]
    public void PlainStraceLogReplaysFromItsExecveLine(string program, string args, bool verbose)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists(program), "needs Linux and " + program);
        Skip.IfNot(Exists("strace") && Exists("setarch"), "needs strace and setarch");
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-exec-replay-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string log = Path.Combine(dir, Path.GetFileName(program) + (verbose ? ".v" : string.Empty) + ".log");
        string[] strace = verbose ? ["-R", "strace", "-v", "-s", "65536", "-o", log] : ["-R", "strace", "-o", log];
        Run("setarch", [.. strace, program, .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        string text = File.ReadAllText(log);
        Assert.StartsWith("execve(", text, StringComparison.Ordinal);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(text, log, new TraceRunOptions { Check = true }, stdout, stderr);
        string output = stdout.ToString();
        string summary = output.Split('\n').Last(l => l.StartsWith("calls:", StringComparison.Ordinal));
        _output.WriteLine(program + ": " + summary);
        Assert.True(exit == 0, $"exit {exit}\n{stderr}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
        Assert.Matches(@"calls: [1-9]\d* executed, [1-9]\d* matched, 0 diverged", summary);
        Assert.Matches(@"(?m)^brk\(NULL\) += 0x[0-9a-f]+$", output);
        Assert.Equal(verbose, !output.Contains("# note " + log + ":1: execve: environment not in the log", StringComparison.Ordinal));
    }

    [SkippableTheory]
    [InlineData("/usr/bin/true", "")]
    [InlineData("/usr/bin/ls", "/")]
    [InlineData("/usr/bin/cat", "/dev/null")]
    [InlineData("/usr/bin/python3", "-c pass")]
    [InlineData("/usr/bin/perl", "-e 1")]
    [InlineData("/usr/bin/sort", "/etc/passwd")]
    [Trait("Linux", "host kernel: a real program's strace -v log, replayed from its execve line, ends with the kernel's maps at the program's exit")]
    public void ReplayFromExecveEndsWithTheKernelsMapsAtExit(string program, string args)
    {
        Skip.If(ExecOracle.Binary is null, ExecOracle.SkipReason);
        Skip.IfNot(File.Exists(program) && Exists("strace") && Exists("setarch"), "needs strace, setarch and " + program);
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-exec-exit-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string log = Path.Combine(dir, Path.GetFileName(program) + ".log");
        string quoted = string.Join(' ', new[] { program }.Concat(args.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Select(a => "'" + a + "'"));
        // The program's output goes to /dev/null here as in the oracle, so that both runs see the same descriptors.
        Run("sh", ["-c", $"exec setarch -R strace -v -s 65536 -o '{log}' {quoted} </dev/null >/dev/null 2>&1"]);
        string[] lines = File.ReadAllLines(log);
        Assert.StartsWith("execve(", lines[0], StringComparison.Ordinal);

        // The kernel's maps at exit, for the same path, arguments and environment.
        using var first = new Mapwright.Trace.Parsing.TraceReader(new StringReader(lines[0]), log);
        _ = first.Read();
        Mapwright.Trace.Parsing.CallLine call = first.Call;
        var argv = Mapwright.Trace.Calls.ExecveArgs.Parse(call.ArgText(1));
        var envp = Mapwright.Trace.Calls.ExecveArgs.Parse(call.ArgText(2));
        List<(int Errno, string Maps)> kernel = ExecOracle.Run([new ExecRequest(call.ArgString(0), argv.Strings!, envp.Strings!)], atExit: true);

        // The replay, with maps() just before the process exits.
        int exitLine = Array.FindLastIndex(lines, l => l.StartsWith("exit_group(", StringComparison.Ordinal));
        Assert.True(exitLine > 0, "no exit_group line");
        string trace = string.Join('\n', lines[..exitLine]) + "\nmaps()\n" + string.Join('\n', lines[exitLine..]) + "\n";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, log, new TraceRunOptions { Check = true }, stdout, stderr);
        Assert.True(exit == 0, stderr.ToString() + string.Join('\n', stdout.ToString().Split('\n').Where(l => l.StartsWith('#'))));
        string maps = MapsBlock().Matches(stdout.ToString()).Last().Groups[1].Value;
        Assert.Equal(kernel[0].Maps, maps);
    }

    private static bool Exists(string tool) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    private static void Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        Task<string> err = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(entireProcessTree: true);
        }

        _ = err.Result;
    }
}
