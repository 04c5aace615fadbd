using Mapwright.Tests.Cli;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// Real programs as a user meets them: captured with <c>mapwright capture</c> (strace on the host kernel), then
/// replayed from the log alone with <c>mapwright run LOG --check</c>, both through the real program. Every result
/// the model computes (memory calls, descriptors, execve) must be the kernel's. Three of the programs are
/// multi-threaded.
/// </summary>
public sealed class CaptureReplayTests
{
    private readonly ITestOutputHelper _output;

    public CaptureReplayTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string, string[]> Programs => new()
    {
        { "true", ["/bin/true"] },
        { "ls", ["ls", "-l", "/etc"] },
        { "cat", ["cat", "/etc/hostname"] },
        { "sort", ["sort", "/etc/passwd"] },
        { "sed", ["sed", "-n", "1p", "/etc/passwd"] },
        { "grep", ["grep", "-c", "root", "/etc/passwd"] },
        { "gzip", ["gzip", "-c", "/etc/services"] },
        { "find", ["find", "/etc", "-maxdepth", "1", "-name", "host*"] },
        { "perl", ["perl", "-e", "my @a = (1) x 100000; print scalar(@a), qq(\n)"] },
        { "python3", ["python3", "-c", "import json; print(json.dumps(list(range(10))))"] },
        { "sh", ["sh", "-c", "ls / > /dev/null; cat /etc/hostname"] },
    };

    public static TheoryData<string, string[]> ThreadedPrograms => new()
    {
        { "threads", ["THREADS"] },
        { "python3-threads", ["python3", "-c", "import threading\nts = [threading.Thread(target=lambda: bytearray(10**6)) for _ in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]"] },
        { "zstd-T2", ["zstd", "-T2", "-q", "-c", "/etc/services"] },
        { "xz-T2", ["xz", "-T2", "-c", "RANDOM"] },
    };

    [SkippableTheory]
    [MemberData(nameof(Programs))]
    [Trait("Linux", "host kernel: a real program captured with mapwright capture replays from its log alone with every result identical")]
    public void ACapturedProgramReplaysIdentically(string name, string[] command) => CaptureAndReplay(name, command, threaded: false);

    [SkippableTheory]
    [MemberData(nameof(ThreadedPrograms))]
    [Trait("Linux", "host kernel: a multi-threaded program (clone3 with CLONE_VM|CLONE_THREAD) captured with mapwright capture replays identically")]
    public void ACapturedThreadedProgramReplaysIdentically(string name, string[] command) => CaptureAndReplay(name, command, threaded: true);

    private void CaptureAndReplay(string name, string[] command, bool threaded)
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RealProgramReplayTests.Exists("strace"), "needs Linux and strace");
        string dir = Directory.CreateTempSubdirectory("mapwright-capture-" + name + "-").FullName;
        try
        {
            command = Prepare(command, dir);
            Skip.IfNot(command[0].StartsWith('/') || RealProgramReplayTests.Exists(command[0]), command[0] + " is not installed");
            string log = Path.Combine(dir, name + ".strace");
            var (captured, _, captureErr) = CliProcess.Run(null, ["capture", "-o", log, "--", .. command]);
            Assert.True(captured == 0, captureErr);
            string text = File.ReadAllText(log);
            if (threaded)
            {
                Assert.Contains("CLONE_THREAD", text, StringComparison.Ordinal);
            }

            var (exit, output, err) = CliProcess.Run(null, "run", log, "--check");
            string summary = output.Split('\n').Last(l => l.StartsWith("calls:", StringComparison.Ordinal));
            _output.WriteLine(name + ": " + summary);
            Assert.True(exit == 0, $"exit {exit}: {err}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
            Assert.Matches(@"calls: [1-9]\d* executed, [1-9]\d* matched, 0 diverged", summary);
            Assert.Contains("execve(", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>THREADS is tests/kernel-oracle/threads.c compiled here; RANDOM is 4 MiB of random bytes (enough for
    /// xz to start its threads).</summary>
    private static string[] Prepare(string[] command, string dir)
    {
        if (command[0] == "THREADS")
        {
            Skip.IfNot(RealProgramReplayTests.Exists("gcc"), "needs gcc");
            string program = Path.Combine(dir, "threads");
            string gcc = RealProgramReplayTests.Run("gcc", ["-O1", "-pthread", "-o", program, Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "threads.c")]);
            Assert.True(File.Exists(program), "gcc failed: " + gcc);
            return [program];
        }

        int random = Array.IndexOf(command, "RANDOM");
        if (random >= 0)
        {
            string file = Path.Combine(dir, "random.bin");
            byte[] bytes = new byte[4 << 20];
            new Random(7).NextBytes(bytes);
            File.WriteAllBytes(file, bytes);
            command = [.. command];
            command[random] = file;
        }

        return command;
    }
}
