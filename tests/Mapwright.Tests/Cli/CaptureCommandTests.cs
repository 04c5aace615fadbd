using System.Text.RegularExpressions;
using Xunit;

namespace Mapwright.Tests.Cli;

/// <summary><c>mapwright capture</c> run as a user runs it: the real program, strace on the host.</summary>
public sealed class CaptureCommandTests
{
    [SkippableFact]
    [Trait("Rule", "issue 10: capture runs strace -f -v with randomisation off, writes the log and prints the replay command")]
    public void CaptureWritesAnUnrandomisedLogAndTheReplayCommand()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/strace"), "needs Linux and strace");
        string dir = Directory.CreateTempSubdirectory("mapwright-capture-").FullName;
        try
        {
            string first = Path.Combine(dir, "first.strace");
            string second = Path.Combine(dir, "second.strace");
            var (exit, output, err) = CliProcess.Run(null, "capture", "-o", first, "--", "/bin/true");
            Assert.True(exit == 0, err);
            Assert.Contains("mapwright run " + first + " --check", output, StringComparison.Ordinal);
            Assert.Equal(0, CliProcess.Run(null, "capture", "-o", second, "--", "/bin/true").Exit);

            string log = File.ReadAllText(first);
            // -f: every line has its PID; -v: the environment is printed whole, not as /* N vars */.
            Assert.Matches(@"^\d+ +execve\(""/bin/true"", \[""/bin/true""\], \[""", log);
            Assert.DoesNotContain("vars */", log, StringComparison.Ordinal);

            // Randomisation off: the kernel chose the same addresses in both runs, at the top of the 47-bit space.
            string[] Addresses(string text) => [.. Regex.Matches(text, @"\bmmap\(NULL, .*= (0x[0-9a-f]+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value)];
            string[] a = Addresses(log);
            Assert.NotEmpty(a);
            Assert.Equal(a, Addresses(File.ReadAllText(second)));
            Assert.StartsWith("0x7ffff7", a[0], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Rule", "docs/cli.md: capture without strace is one line and exit 4")]
    public void CaptureWithoutStraceSaysSo()
    {
        string empty = Directory.CreateTempSubdirectory("mapwright-nopath-").FullName;
        try
        {
            var (exit, output, err) = CliProcess.RunWithPath(empty, null, "capture", "--", "/bin/true");
            Assert.Equal(4, exit);
            Assert.Equal(string.Empty, output);
            Assert.Equal("mapwright capture: strace is not installed (Debian and Ubuntu: apt-get install strace)", err.Trim());
        }
        finally
        {
            Directory.Delete(empty);
        }
    }
}
