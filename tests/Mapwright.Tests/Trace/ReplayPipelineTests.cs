using System.Diagnostics;
using System.Text;
using Mapwright.Mm;
using Mapwright.Tests.Cli;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>The replay of a file on two threads (<c>readAhead</c>, the CLI's file mode): the same end as the replay on
/// one thread for a malformed line, a failed read and a failure on the engine's side, and no thread left waiting.</summary>
public sealed class ReplayPipelineTests
{
    private static readonly TraceRunOptions s_options = new() { Config = new MmConfig() };

    [Fact]
    [Trait("Rule", "issue 8: a malformed line stops the run at that line; every call before it has run")]
    public void AMalformedLineFarIntoTheFileStopsTheRunThereAfterEveryCallBeforeIt()
    {
        // Far past the reader's first batches, so that it stops while the engine is batches behind.
        const int good = 5000;
        var text = new StringBuilder();
        for (int i = 0; i < good; i++)
        {
            text.Append("munmap(0x1000, 4096) = 0\n");
        }

        text.Append("munmap(0x1000) = 0\nmunmap(0x1000, 4096) = 0\n");
        var engine = ReplayEngine.Create(s_options, [])!;
        using var reader = new TraceReader(new StringReader(text.ToString()), "bad.trace");
        TraceDiagnostic? stopped = TraceReplay.Run(reader, engine, readAhead: true);
        Assert.NotNull(stopped);
        Assert.Equal(good + 1, stopped.Line);
        Assert.Equal(good, engine.Counts.Executed);
    }

    [Fact]
    [Trait("Rule", "issue 8: an I/O error while reading is the replay's error (exit 4), after the calls read before it")]
    public void AReadErrorOnTheReaderThreadIsRethrownOnTheReplaysThread()
    {
        byte[] line = "munmap(0x1000, 4096) = 0\n"u8.ToArray();
        var engine = ReplayEngine.Create(s_options, [])!;
        using var reader = new TraceReader(new FailingStream(new ReplayCliTests.RepeatingStream(line, 3000), line.Length * 3000), "eio.trace");
        IOException e = Assert.Throws<IOException>(() => TraceReplay.Run(reader, engine, readAhead: true));
        Assert.Equal("EIO", e.Message);
        Assert.InRange(engine.Counts.Executed, 1, 3000);
    }

    [Fact]
    [Trait("Rule", "issue 8: a failure on the replay's side reaches the caller at once and runs no more calls, while the reader waits for batches")]
    public void AFailureOnTheReplaysSideReturnsAtOnceWhileTheReaderWaitsForBatches()
    {
        // A long trace: the reader fills every batch it may make and waits for one back when the replay fails.
        byte[] line = "munmap(0x1000, 4096) = 0\n"u8.ToArray();
        var engine = ReplayEngine.Create(s_options, [])!;
        using var reader = new TraceReader(new ReplayCliTests.RepeatingStream(line, 1_000_000), "long.trace");
        var clock = Stopwatch.StartNew();
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            TraceReplay.Run(reader, engine, (lines, _) => throw new InvalidOperationException($"stop at {lines}"), readAhead: true));
        Assert.StartsWith("stop at", e.Message, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the failed replay took {clock.Elapsed}");
        Assert.True(engine.Counts.Executed < 1_000_000, "the replay went on after its failure");
    }

    /// <summary>A stream that fails with EIO once <paramref name="goodBytes"/> have been read.</summary>
    private sealed class FailingStream(Stream inner, long goodBytes) : Stream
    {
        private long _left = goodBytes;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw new IOException("EIO");
            }

            int n = inner.Read(buffer, offset, (int)Math.Min(count, _left));
            _left -= n;
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
