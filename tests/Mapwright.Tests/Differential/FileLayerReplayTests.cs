using System.Text.RegularExpressions;
using Mapwright.Cli;
using Mapwright.Trace.Replay;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// A real program's file and descriptor calls (tests/kernel-oracle/files.c), traced with strace on the host kernel
/// (randomisation off) and replayed from the maps execve left: every result, mincore's vectors included, and the
/// maps at exit must be the kernel's.
/// </summary>
public sealed class FileLayerReplayTests
{
    private readonly ITestOutputHelper _output;

    public FileLayerReplayTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [SkippableFact]
    [Trait("Linux", "host kernel: O_CREAT/O_EXCL/reopen/ftruncate/unlink of a created file, dup/dup2/dup3/F_DUPFD/close_range, /proc/self/fd/N reopen (memfd, pipe, socket ENXIO), d_path names, mincore's vector as strace prints it")]
    public void FileCallsOfARealProgramReplayIdentically()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        Skip.IfNot(RealProgramReplayTests.Exists("gdb") && RealProgramReplayTests.Exists("strace") && RealProgramReplayTests.Exists("setarch") && RealProgramReplayTests.Exists("gcc"),
            "needs gdb, strace, setarch and gcc");
        string dir = Directory.CreateTempSubdirectory("mapwright-files-").FullName;
        try
        {
            string program = Path.Combine(dir, "files");
            string gcc = RealProgramReplayTests.Run("gcc", ["-O1", "-o", program, Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "files.c")]);
            Assert.True(File.Exists(program), "gcc failed: " + gcc);
            string work = Path.Combine(dir, "work");
            Directory.CreateDirectory(work);
            string mapsCopy = Path.Combine(dir, "maps-at-exit");
            string[] argv = [work, mapsCopy];

            string gdbOut = RealProgramReplayTests.Run("gdb", ["-batch", "-nx", "-ex", "starti", "-ex", "python print(open('/proc/%d/maps' % gdb.selected_inferior().pid).read())", "--args", program, .. argv]);
            string maps = string.Join('\n', gdbOut.Split('\n').Where(l => Regex.IsMatch(l, "^[0-9a-f]+-[0-9a-f]+ "))) + "\n";
            Skip.If(maps.Length < 10, "gdb could not start the program: " + gdbOut);

            string tracePath = Path.Combine(dir, "files.strace");
            RealProgramReplayTests.Run("setarch", ["-R", "strace", "-o", tracePath, program, .. argv]);
            string kernelMaps = File.ReadAllText(mapsCopy);
            Assert.Contains(work + "/created (deleted)", kernelMaps, StringComparison.Ordinal);

            // The model's maps where the program copied its own: just before it exits.
            string trace = File.ReadAllText(tracePath);
            int exitAt = trace.IndexOf("exit_group(", StringComparison.Ordinal);
            Assert.True(exitAt > 0, "no exit_group in the trace");
            trace = trace[..exitAt] + "maps()\n" + trace[exitAt..];

            var options = new TraceRunOptions { Check = true, InitialMapsText = maps, InitialMapsName = "execve-maps" };
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            int exit = RunCommand.RunText(trace, tracePath, options, stdout, stderr);
            string output = stdout.ToString().ReplaceLineEndings("\n");
            _output.WriteLine(output);
            Assert.True(exit == 0, $"exit {exit}\n{stderr}\n" + string.Join('\n', output.Split('\n').Where(l => l.StartsWith("# diverged", StringComparison.Ordinal))));
            Assert.Matches(@"calls: [1-9]\d* executed, [1-9]\d* matched, 0 diverged", output);

            // mincore printed as strace prints it: the whole short vector, the long one cut after 32 elements.
            Assert.Contains(", 8192, [0, 1]) = 0\n", output, StringComparison.Ordinal);
            Assert.Matches(@", 163840, \[1(, 0){31}, \.\.\.\]\) = 0\n", output);

            string modelMaps = output[(output.IndexOf("maps()\n", StringComparison.Ordinal) + "maps()\n".Length)..];
            modelMaps = modelMaps[..modelMaps.IndexOf("exit_group(", StringComparison.Ordinal)];
            Assert.Equal(MaskCreated(DifferentialRunner.NormalizeInodes(kernelMaps)), MaskCreated(DifferentialRunner.NormalizeInodes(modelMaps)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A file the traced program created has an inode number the replay cannot know
    /// (docs/divergences.md): its maps lines are compared without it.</summary>
    private static string MaskCreated(string maps) =>
        Regex.Replace(maps, @"^(\S+ \S+ \S+ \S+ )\d+ +(\S*/created \(deleted\))$", "$1# $2", RegexOptions.Multiline);
}
