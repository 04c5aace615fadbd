using System.Globalization;
using System.Text;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Tests.Cli;
using Mapwright.Tests.Differential;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Mapwright.Trace.Report;
using Xunit;

namespace Mapwright.Tests.Report;

/// <summary>The report without a browser: the maps it keeps, what the command writes and refuses, its size.</summary>
public sealed class ReportWriterTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [Trait("Rule", "issue 11: the report's copy of each process's maps, updated from the changed range, equals /proc/PID/maps after every call")]
    public void TheMapsKeptFromChangedRangesEqualTheMapsTextAfterEveryCall(int seed)
    {
        // Random traces (merges, splits, brk, memfd, forks and exits) from the differential tests' generator.
        string trace = new RandomTraceGenerator(seed, regionTop: 0x7ffff7f00000, brkStart: 0x555555559000).Generate(400);
        var options = new TraceRunOptions { Config = new MmConfig(), BrkStart = 0x555555559000, InitialMapsText = ReportTraces.ProgramMaps };
        var errors = new List<TraceDiagnostic>();
        ReplayEngine engine = ReplayEngine.Create(options, errors)!;
        var sink = new CompareAfterEachCall(engine);
        engine.AddSink(sink);
        using var reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(trace)), "random.trace");
        Assert.Null(TraceReplay.Run(reader, engine));
        Assert.True(sink.Compared > 400, $"compared {sink.Compared} maps");
    }

    [Fact]
    [Trait("Rule", "issue 11: a malformed trace gives FILE:LINE: message, exit code 2, and no report (not even a partial one)")]
    public void AMalformedTraceWritesNoReport()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string trace = Path.Combine(dir, "bad.trace");
        File.WriteAllText(trace, "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmunmap(0x1000\n");
        string output = Path.Combine(dir, "report.html");
        File.WriteAllText(output, "an older report");
        var (exit, stdout, stderr) = CliProcess.Run(null, "report", trace, "-o", output);
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.StartsWith(trace + ":2: ", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
        Assert.Equal("an older report", File.ReadAllText(output));
        Assert.Equal([output], Directory.GetFiles(dir, "*.html*").Concat(Directory.GetFiles(dir, ".*")).Order());
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    [Trait("Rule", "issue 8: a file is checked whole before its result counts: every malformed line of a report's trace is named, the last one after thousands of good lines")]
    public void EveryMalformedLineOfALongTraceIsNamedAndNoReportIsWritten()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string trace = Path.Combine(dir, "long.trace");
        var text = new System.Text.StringBuilder("munmap(0x1000\n");
        for (int i = 0; i < 20000; i++)
        {
            text.Append("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmunmap(0x1000, 4096) = 0\n");
        }

        text.Append("mprotect(0x1000, 4096\n");
        File.WriteAllText(trace, text.ToString());
        string output = Path.Combine(dir, "report.html");
        var (exit, stdout, stderr) = CliProcess.Run(null, "report", trace, "-o", output);
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Equal([trace + ":1: ", trace + ":40002: "], stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[..(l.IndexOf(": ", trace.Length, StringComparison.Ordinal) + 2)]));
        Assert.Empty(Directory.GetFiles(dir, "*.html*").Concat(Directory.GetFiles(dir, ".*")));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    [Trait("Rule", "issue 11: mapwright report TRACE -o FILE takes the options of run and writes one HTML page; --check exits 1 on a divergence")]
    public void TheCommandWritesOnePageWithTheOptionsOfRun()
    {
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-report-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string trace = Path.Combine(dir, "program.trace");
        string maps = Path.Combine(dir, "program.maps");
        File.WriteAllText(trace, ReportTraces.Program);
        File.WriteAllText(maps, ReportTraces.ProgramMaps);
        string output = Path.Combine(dir, "report.html");
        var (exit, stdout, stderr) = CliProcess.Run(null, "report", trace, "-o", output, "--initial-maps", maps, "--brk-start", "0x55555555e000", "--check");
        Assert.Equal(string.Empty, stderr);
        Assert.Equal(1, exit);
        Assert.Contains("calls: 18 executed, 16 matched, 1 diverged, 1 skipped", stdout, StringComparison.Ordinal);
        string html = File.ReadAllText(output);
        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.Contains("<svg id=\"address-space\"", html, StringComparison.Ordinal);
        Assert.Contains("<input type=\"range\" id=\"step\"", html, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(dir, "*.html*"));
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>After each call, the copy of every live address space against its maps text.</summary>
    private sealed class CompareAfterEachCall(ReplayEngine engine) : IOutcomeSink
    {
        private readonly Dictionary<MmSyscalls, MapsTracker> _trackers = new(ReferenceEqualityComparer.Instance);
        private readonly List<ulong> _removed = [];
        private readonly List<ReportVma> _added = [];

        public int Compared { get; private set; }

        public void OnOutcome(Outcome outcome)
        {
            var live = new List<MmSyscalls>(engine.Processes.Values);
            if (engine.ProcessOf(null) is { } main)
            {
                live.Add(main);
            }

            foreach (MmSyscalls sys in live.Distinct())
            {
                if (!_trackers.TryGetValue(sys, out MapsTracker? t))
                {
                    t = new MapsTracker(sys.Mm, _trackers.Count);
                    _trackers[sys] = t;
                }

                t.Update(_removed, _added);
                Assert.Equal(sys.Mm.FormatMaps(), Format(t.Current));
                Compared++;
            }
        }

        public void OnEnd(ReplaySummary summary)
        {
        }

        private static string Format(IEnumerable<ReportVma> vmas)
        {
            var sb = new StringBuilder();
            foreach (ReportVma v in vmas)
            {
                string p = ((v.Perms & 8) != 0 ? "r" : "-") + ((v.Perms & 4) != 0 ? "w" : "-") + ((v.Perms & 2) != 0 ? "x" : "-") + ((v.Perms & 1) != 0 ? "s" : "p");
                string line = string.Create(CultureInfo.InvariantCulture, $"{v.Start:x8}-{v.End:x8} {p} {v.Offset:x8} {v.DevMajor:x2}:{v.DevMinor:x2} {v.Inode} ");
                if (v.Name.Length != 0)
                {
                    line = line.PadRight(72) + " " + v.Name;
                }

                sb.Append(line).Append('\n');
            }

            return sb.ToString();
        }
    }
}
