using System.Text.Json;
using Mapwright.Cli;
using Mapwright.Mm;
using Mapwright.Trace.Output;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Cli;

/// <summary>The replay front door as a user meets it: the real program on files and standard input, exit codes,
/// JSON and statistics output, streaming.</summary>
public sealed class ReplayCliTests
{
    private static readonly TraceRunOptions s_options = new() { Config = new MmConfig() };

    private const string Churn =
        "mmap(NULL, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffc000\n"
        + "mprotect(0x7ffff7ffd000, 4096, PROT_READ) = 0\n"
        + "maps()\n"
        + "mprotect(0x7ffff7ffd000, 4096, PROT_READ|PROT_WRITE) = 0\n"
        + "munmap(0x1001, 4096) = -1 EINVAL (Invalid argument)\n"
        + "read(3, \"\\177ELF\", 4) = 4\n"
        + "poke(0x7ffff7ffc000, 8192, 1) = 0\n"
        + "peek(0x1000, 1) = SIGSEGV\n";

    [Fact]
    [Trait("Rule", "issue 8: --json writes one JSON object per call of the trace, then one summary object")]
    public void JsonIsOneObjectPerCallThenASummary()
    {
        var (exit, output, err) = RunText(Churn, s_options with { Check = true }, new RunRequest { Json = true });
        Assert.Equal(0, exit);
        Assert.Equal("", err);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, lines.Length);
        JsonElement[] objects = [.. lines.Select(l => JsonDocument.Parse(l).RootElement)];

        // mmap's address, with its verdict against the written result (mm/mmap.c: top-down from mmap_base).
        Assert.Equal(1, objects[0].GetProperty("line").GetInt32());
        Assert.Equal("mmap", objects[0].GetProperty("call").GetString());
        Assert.Equal("executed", objects[0].GetProperty("status").GetString());
        Assert.Equal("0x7ffff7ffc000", objects[0].GetProperty("result").GetString());
        Assert.Equal(0x7ffff7ffc000UL, objects[0].GetProperty("value").GetUInt64());
        Assert.Equal("matched", objects[0].GetProperty("verdict").GetString());

        // maps() is a view with its text; munmap of an unaligned address is EINVAL (mm/vma.c do_vmi_munmap()).
        Assert.Equal("view", objects[2].GetProperty("status").GetString());
        Assert.StartsWith("7ffff7ffc000-7ffff7ffd000 rw-p", objects[2].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("EINVAL", objects[4].GetProperty("errno").GetString());
        Assert.False(objects[4].TryGetProperty("value", out _));
        Assert.Equal("skipped", objects[5].GetProperty("status").GetString());
        Assert.Equal("read", objects[5].GetProperty("call").GetString());
        Assert.Equal("SIGSEGV", objects[7].GetProperty("signal").GetString());

        JsonElement summary = objects[8].GetProperty("summary");
        Assert.Equal(6, summary.GetProperty("executed").GetInt32());
        Assert.Equal(6, summary.GetProperty("matched").GetInt32());
        Assert.Equal(0, summary.GetProperty("diverged").GetInt32());
        Assert.Equal(1, summary.GetProperty("skipped").GetInt32());
    }

    [Fact]
    [Trait("Linux", "mm/vma.c: mprotect of a VMA's middle page splits it twice (__split_vma); restoring merges the three back (vma_merge_existing_range)")]
    public void StatsShowCallsErrorsPeaksMergesAndSplits()
    {
        var stats = new ReplayStats();
        var engine = ReplayEngine.Create(s_options, [])!;
        engine.AddSink(stats);
        using (var reader = new TraceReader(new StringReader(Churn), "t.trace"))
        {
            Assert.Null(TraceReplay.Run(reader, engine));
        }

        engine.Finish();
        ReplayStats.CallStat mprotect = stats.Calls.Single(c => c.Name == "mprotect");
        Assert.Equal(2, mprotect.Count);
        ReplayStats.CallStat munmap = stats.Calls.Single(c => c.Name == "munmap");
        Assert.Equal(1, munmap.Errors);
        Assert.Equal("EINVAL", munmap.ErrorsByName.Single().Key);
        Assert.Equal("SIGSEGV", stats.Calls.Single(c => c.Name == "peek").ErrorsByName.Single().Key);
        Assert.Equal(1, stats.Skipped.Single(kv => kv.Key == "read").Value);

        ReplayStats.ProcessPeaks main = stats.Processes.Single();
        Assert.Equal(3, main.PeakVmas);
        Assert.Equal(12288UL, main.PeakMappedBytes);
        Assert.Equal(8192UL, main.PeakResidentBytes);
        Assert.Equal(2, main.Splits);
        Assert.Equal(1, main.Merges);

        string table = StatsTable.Render(stats);
        Assert.Contains("mprotect", table, StringComparison.Ordinal);
        Assert.Contains("EINVAL 1", table, StringComparison.Ordinal);
        Assert.Contains("12 kB", table, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "issue 8: --stats prints its tables after the summary line; --json puts them in the summary object")]
    public void StatsOptionPrintsTablesOrJson()
    {
        var (_, text, _) = RunText(Churn, s_options, new RunRequest { Stats = true });
        int summary = text.IndexOf("calls: 6 executed", StringComparison.Ordinal);
        Assert.True(summary >= 0);
        Assert.True(text.IndexOf("merges", StringComparison.Ordinal) > summary);

        var (_, json, _) = RunText(Churn, s_options, new RunRequest { Json = true, Stats = true });
        JsonElement last = JsonDocument.Parse(json.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        JsonElement process = last.GetProperty("summary").GetProperty("stats").GetProperty("processes")[0];
        Assert.Equal(3, process.GetProperty("peak_vmas").GetInt32());
        Assert.Equal(2, process.GetProperty("splits").GetInt32());
    }

    [Fact]
    [Trait("Rule", "issue 9: --check-locks turns on the lock-order checker (Linux: CONFIG_PROVE_LOCKING), which the shipped Release tool leaves off; no lock path of the model or of a device's hooks is an inversion, and no result changes")]
    public void CheckingLockOrderChangesNoResult()
    {
        // Every lock path of docs/locking.md: a device whose prepare takes a mutex that complete releases, faults under
        // the VMA read lock and under the mmap read lock (a device fault handler), ftruncate zapping a shared mapping,
        // a fork whose child takes a copy-on-write fault and exits, MADV_DONTNEED under the VMA read lock, a populate
        // after the write lock is traded for the read lock (mlock), a moving mremap, mincore and msync under the read
        // lock, an munmap that closes the device's VMA, exit. Under `dotnet test` (a Debug build) the checker is on
        // in both runs; under .ci/run's second phase (the Release tool) only with the flag.
        string trace =
            "mmap(0x200000000, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n"
            + "poke(0x200000000, 65536, 7)\n"
            + "openat(AT_FDCWD, \"/dev/mapwright/pseudolock\", O_RDWR)\n"
            + "mmap(0x300000000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 3, 0)\n"
            + "peek(0x300000000, 8192)\n"
            + "openat(AT_FDCWD, \"/dev/mapwright/faulting\", O_RDWR)\n"
            + "mmap(0x310000000, 8192, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 4, 0)\n"
            + "poke(0x310001000, 4096, 3)\n"
            + "memfd_create(\"shm\", 0)\n"
            + "ftruncate(5, 65536)\n"
            + "mmap(0x400000000, 65536, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 5, 0)\n"
            + "poke(0x400000000, 65536, 1)\n"
            + "ftruncate(5, 4096)\n"
            + "fork()\n"
            + "2 mmap(NULL, 1048576, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
            + "2 poke(0x200000000, 4096, 9)\n"
            + "2 exit_group(0)\n"
            + "mprotect(0x200001000, 8192, PROT_READ)\n"
            + "madvise(0x200000000, 8192, MADV_DONTNEED)\n"
            + "madvise(0x200000000, 8192, MADV_DONTFORK)\n"
            + "mlock(0x200010000, 16384)\n"
            + "mremap(0x200010000, 16384, 65536, MREMAP_MAYMOVE)\n"
            + "mincore(0x200000000, 8192, [])\n"
            + "msync(0x400000000, 4096, MS_SYNC)\n"
            + "brk(NULL)\n"
            + "munmap(0x300000000, 8192)\n"
            + "smaps()\n"
            + "exit_group(0)\n";
        string path = CliProcess.TempFile(trace);
        try
        {
            var plain = CliProcess.Run(null, "run", path);
            var checkedRun = CliProcess.Run(null, "run", "--check-locks", path);
            Assert.Equal(0, plain.Exit);
            Assert.Equal(0, checkedRun.Exit);
            Assert.Equal("", checkedRun.Err);
            Assert.Equal(plain.Out, checkedRun.Out);
            Assert.Contains("calls: 27 executed, 0 matched, 0 diverged, 0 skipped", checkedRun.Out, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    [Trait("Rule", "issue 8: a file is checked whole before anything runs: malformed input gives FILE:LINE and exit 2, no output")]
    public void AMalformedFileRunsNothing()
    {
        string path = CliProcess.TempFile("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmaps()\nmunmap(0x1000\n");
        try
        {
            var (exit, output, err) = CliProcess.Run(null, "run", path);
            Assert.Equal(2, exit);
            Assert.Equal("", output);
            Assert.Equal($"{path}:3: unbalanced parenthesis\n", err.ReplaceLineEndings("\n"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    [Trait("Rule", "issue 8: standard input runs as it arrives; a malformed line stops the run there with FILE:LINE and exit 2")]
    public void StandardInputStopsAtTheFirstMalformedLine()
    {
        var (exit, output, err) = CliProcess.Run(
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmprotect(0x7ffff7ffe000, 4096, PROT_BOGUS)\nmaps()\n",
            "run", "-");
        Assert.Equal(2, exit);
        Assert.Equal("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000\n", output.ReplaceLineEndings("\n"));
        Assert.Equal("<stdin>:2: unknown symbol 'PROT_BOGUS'\n", err.ReplaceLineEndings("\n"));
    }

    [Fact]
    [Trait("Rule", "issue 8: standard input runs as it arrives: what ran is on standard output before the program waits for more")]
    public async Task StandardInputShowsEachCallBeforeWaitingForTheNext()
    {
        using System.Diagnostics.Process p = CliProcess.Start(null, "run", "-");
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.WriteLine("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)");
        p.StandardInput.Flush();

        // Standard input stays open: the answer must come while the program waits for the next line.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? first = await p.StandardOutput.ReadLineAsync(timeout.Token);
        Assert.Equal("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000", first);

        p.StandardInput.WriteLine("munmap(0x7ffff7ffe000, 4096)");
        p.StandardInput.Close();
        string rest = await p.StandardOutput.ReadToEndAsync(timeout.Token);
        await p.WaitForExitAsync(timeout.Token);
        Assert.Equal(0, p.ExitCode);
        Assert.StartsWith("munmap(0x7ffff7ffe000, 4096) = 0\ncalls: 2 executed", rest.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal("", await stderr);
    }

    [Fact]
    [Trait("Rule", "issue 8: a log cut off in the middle of a line is malformed input (exit 2), reported at that line")]
    public void ATruncatedLogIsMalformedAtItsLastLine()
    {
        var (exit, output, err) = CliProcess.Run("munmap(0x1000, 4096) = 0\nmmap(NULL, 4096, PROT_RE", "run", "-");
        Assert.Equal(2, exit);
        Assert.StartsWith("munmap(0x1000, 4096) = 0\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.StartsWith("<stdin>:2: ", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("directory")]
    [Trait("Rule", "issue 8: an unreadable trace is an I/O error: exit 4, one line, no stack trace")]
    public void AnUnreadableTraceIsAnIoError(string what)
    {
        string path = what == "directory" ? Path.GetTempPath() : Path.Combine(Path.GetTempPath(), "no-such-trace-" + Guid.NewGuid().ToString("N"));
        var (exit, output, err) = CliProcess.Run(null, "run", path);
        Assert.Equal(4, exit);
        Assert.Equal("", output);
        Assert.StartsWith("mapwright: cannot read " + path, err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "issue 8: the program is mapwright: help names it, --version prints the version")]
    public void HelpAndVersionNameTheProgram()
    {
        var (exit, output, _) = CliProcess.Run(null, "--help");
        Assert.Equal(0, exit);
        Assert.Contains("mapwright [command] [options]", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Mapwright.Cli", output, StringComparison.Ordinal);
        var (vexit, version, _) = CliProcess.Run(null, "--version");
        Assert.Equal(0, vexit);
        Assert.Matches(@"^\d+\.\d+\.\d+", version);
    }

    [Fact]
    [Trait("Rule", "issue 8: one syscall table; `mapwright calls` lists it with x86-64 numbers")]
    public void CallsListsTheSyscallTable()
    {
        var (exit, output, _) = CliProcess.Run(null, "calls");
        Assert.Equal(0, exit);
        Assert.Matches(@"mmap\s+│\s+9\s+│\s+memory", output);
        Assert.Matches(@"mseal\s+│\s+462\s+│", output);
        Assert.Matches(@"peek\s+│\s+-\s+│\s+access", output);
    }

    [Fact]
    [Trait("Rule", "issue 8: streaming: reading a log allocates nothing per line")]
    public void ReadingALongLogAllocatesNothingPerLine()
    {
        const int pairs = 100_000;
        byte[] chunk = "munmap(0x1000, 4096) = 0\nread(3, \"\\177ELF\", 4) = 4\n1234 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"u8.ToArray();
        using var reader = new TraceReader(new RepeatingStream(chunk, pairs), "big.trace");
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal(ReadStatus.Call, reader.Read());
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        int calls = 300;
        while (reader.Read() == ReadStatus.Call)
        {
            calls++;
        }

        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(3 * pairs, calls);
        Assert.True(bytes < 64 * 1024, $"{bytes} bytes allocated reading {calls} lines");
    }

    [Fact]
    [Trait("Rule", "trace-format.md: lines are read whole across the reader's buffer boundaries, long ones included")]
    public void LinesAcrossBufferBoundariesAndLongLinesParse()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 5000; i++)
        {
            sb.Append("write(1, \"").Append('x', i % 97).Append("\", ").Append(i % 97).Append(") = ").Append(i % 97).Append('\n');
            sb.Append("munmap(0x").Append((0x10000 + (i * 0x1000)).ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append(", 4096)\n");
        }

        sb.Append("read(3, \"").Append('y', 300_000).Append("\"..., 300000) = 300000\nmunmap(0x1000, 4096)");
        TraceDocument doc = TraceParser.Parse(sb.ToString(), "t.trace");
        Assert.Empty(doc.Errors);
        Assert.Equal(10_002, doc.Calls.Count);
        Assert.Equal("0x10000", doc.Calls[1].Args[0].Text);
        Assert.Equal(300_000UL, doc.Calls[^2].Args[2].Value);
        Assert.Equal("munmap", doc.Calls[^1].Name);
    }

    private static (int Exit, string Out, string Err) RunText(string trace, TraceRunOptions options, RunRequest request)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "t.trace", options, stdout, stderr, request);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A stream that yields the same bytes <c>count</c> times, never holding more than one copy, at most
    /// <c>maxRead</c> bytes a read (a pipe fed slowly hands over little at a time).</summary>
    internal sealed class RepeatingStream(byte[] chunk, int count, int maxRead = int.MaxValue) : Stream
    {
        private int _left = count;
        private int _offset;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = 0;
            count = Math.Min(count, maxRead);
            while (n < count && _left > 0)
            {
                int take = Math.Min(count - n, chunk.Length - _offset);
                Array.Copy(chunk, _offset, buffer, offset + n, take);
                n += take;
                _offset += take;
                if (_offset == chunk.Length)
                {
                    _offset = 0;
                    _left--;
                }
            }

            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>Streaming replays measured by the managed heap they keep, run alone.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class ReplayMemoryTests
{
    private static readonly TraceRunOptions s_options = new() { Config = new MmConfig() };

    [Fact]
    [Trait("Rule", "issue 8: streaming: memory is bounded by the model's state, not by the log's length")]
    public void ALongReplayKeepsNoMemoryPerLine()
    {
        const int pairs = 100_000;
        var engine = ReplayEngine.Create(s_options, [])!;
        var output = new Utf8Output(Stream.Null);
        engine.AddSink(new EchoWriter(output));
        using var reader = new TraceReader(new ReplayCliTests.RepeatingStream("munmap(0x1000, 4096) = 0\nread(3, \"x\", 1) = 1\n"u8.ToArray(), pairs), "big.trace");
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(ReadStatus.Call, reader.Read());
            engine.Step(reader.Call);
        }

        long before = GC.GetTotalMemory(forceFullCollection: true);
        Assert.Null(TraceReplay.Run(reader, engine));
        long kept = GC.GetTotalMemory(forceFullCollection: true) - before;
        Assert.True(kept < 256 * 1024, $"{kept} bytes kept after {2 * pairs} lines");
        Assert.Equal(pairs, engine.Counts.Executed);
        Assert.Equal(pairs, engine.Counts.Skipped);
    }

}
