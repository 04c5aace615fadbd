using System.Text;
using Mapwright.Mm;
using Mapwright.Trace.Output;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>
/// <see cref="CallLine"/> is one instance reused line after line, and the replay pipeline copies lines between its
/// threads: a line's arguments, their text and its decoded strings are that line's, whatever lines came before, with
/// any number of arguments.
/// </summary>
public sealed class CallLineTests
{
    [Fact]
    [Trait("Rule", "trace format: a call outside the table keeps all its arguments, any number of them")]
    public void ALineWithManyArgumentsThenOneWithFewReadsEachAsWritten()
    {
        using var reader = new TraceReader(new StringReader(
            "frob(1, 2, 3, 4, 5, 6, 7, 0x8, \"nine\") = 0\nunlinkat(AT_FDCWD, \"/tmp/a\", 0) = -1 ENOENT (No such file or directory)\nfrob(\"x\") = 0\n"), "args.trace");
        Assert.Equal(ReadStatus.Call, reader.Read());
        CallLine call = reader.Call;
        Assert.Equal(9, call.ArgCount);
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal((ulong)(i + 1), call.Arg(i));
        }

        Assert.Equal("0x8", call.ArgText(7).ToString());
        Assert.Equal("nine", call.ArgString(8));
        Assert.Equal(ReadStatus.Call, reader.Read());
        Assert.Equal(3, call.ArgCount);
        Assert.Equal(unchecked((ulong)-100), call.Arg(0));
        Assert.Equal("/tmp/a", call.ArgString(1));
        Assert.Equal("0", call.ArgText(2).ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => call.Arg(3));
        Assert.Equal(ReadStatus.Call, reader.Read());
        Assert.Equal("x", call.ArgString(0));
        Assert.Equal(ReadStatus.End, reader.Read());
    }

    [Fact]
    [Trait("Rule", "issue 8: the pipeline's copy of a line is the line: name, PID, every argument's value, kind, text and string, the result")]
    public void ACopiedLineReadsAsTheOriginalWhateverTheCopyHeldBefore()
    {
        string longString = new('q', 70_000);
        using var reader = new TraceReader(new StringReader(
            "frob(1, 2, 3, 4, 5, 6, 7, 0x8, \"nine\") = 0\n"
            + "123 unlinkat(AT_FDCWD, \"/tmp/a\", 0) = -1 ENOENT (No such file or directory)\n"
            + "frob(\"" + longString + "\", 3) = 0\n"
            + "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n"), "copy.trace");
        var copy = new CallLine("copy.trace");
        while (reader.Read() == ReadStatus.Call)
        {
            CallLine line = reader.Call;
            for (int i = 0; i < line.ArgCount; i++)
            {
                _ = line.ArgString(i); // decoded on the original: the copy must decode its own
            }

            copy.CopyFrom(line);
            Assert.Equal(line.Name, copy.Name);
            Assert.Equal(line.Pid, copy.Pid);
            Assert.Equal(line.Line, copy.Line);
            Assert.Equal(line.CallText.ToString(), copy.CallText.ToString());
            Assert.Equal(line.ResultText.ToString(), copy.ResultText.ToString());
            Assert.Equal(line.ResultValue, copy.ResultValue);
            Assert.Equal(line.ResultErrno, copy.ResultErrno);
            Assert.Equal(line.ArgCount, copy.ArgCount);
            for (int i = 0; i < line.ArgCount; i++)
            {
                Assert.Equal(line.Arg(i), copy.Arg(i));
                Assert.Equal(line.ArgKind(i), copy.ArgKind(i));
                Assert.Equal(line.ArgText(i).ToString(), copy.ArgText(i).ToString());
                Assert.Equal(line.ArgRange(i), copy.ArgRange(i));
                Assert.Equal(line.ArgString(i), copy.ArgString(i));
            }
        }
    }

    [Fact]
    [Trait("Rule", "issue 8: the replay on two threads prints what the replay on one prints, line for line")]
    public void TheTwoThreadReplayCopiesEveryLineWhole()
    {
        // Lines of every shape the copy handles: many arguments, strings, a result with a comment, an empty list,
        // and a long string past the copy's kept buffer; enough of them to cycle through every batch.
        var text = new StringBuilder();
        string longName = new('n', 70_000);
        for (int i = 0; i < 3000; i++)
        {
            text.Append(CultureInfoInvariant($"frob({i}, 2, 3, 4, 5, 6, 7, 8, \"s{i}\") = {i}\n"));
            text.Append(CultureInfoInvariant($"unlinkat(AT_FDCWD, \"/tmp/mapwright-none-{i}\", 0) = -1 ENOENT (No such file or directory)\n"));
            text.Append("getpid() = 42\n");
            text.Append(CultureInfoInvariant($"munmap(0x{0x10000 + (i * 4096):x}, 4096) = 0\n"));
            if (i % 1000 == 999)
            {
                text.Append("frob(\"").Append(longName).Append("\") = 0\n");
            }
        }

        Assert.Equal(Replay(text.ToString(), readAhead: false), Replay(text.ToString(), readAhead: true));
    }

    [Fact]
    [Trait("Rule", "issue 8: input arriving over time runs on two threads, the reader handing over what it holds before each read: the same lines as one thread")]
    public void InputArrivingInPiecesReplaysAsOnOneThread()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 2000; i++)
        {
            text.Append(FormattableString.Invariant($"mmap(0x{0x200000000000 + (i * 8192):x}, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x{0x200000000000 + (i * 8192):x}\n"));
            text.Append(FormattableString.Invariant($"openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\nclose(3) = 0\n"));
        }

        string expected = Replay(text.ToString(), readAhead: false);
        int idles = 0;
        var engine = ReplayEngine.Create(new TraceRunOptions { Config = new MmConfig() }, [])!;
        var bytes = new MemoryStream();
        using (var output = new Utf8Output(bytes))
        {
            engine.AddSink(new EchoWriter(output));
            // A pipe that delivers at most 100 bytes a read: many hand-overs of part of a batch.
            using var reader = new TraceReader(new Mapwright.Tests.Cli.ReplayCliTests.RepeatingStream(Encoding.UTF8.GetBytes(text.ToString()), 1, maxRead: 100), "<stdin>");
            Assert.Null(TraceReplay.Run(reader, engine, readAhead: false, idle: () => Interlocked.Increment(ref idles)));
            output.Flush();
        }

        Assert.Equal(expected, Encoding.UTF8.GetString(bytes.ToArray()));
        Assert.True(idles > 0, "the replay never waited for input");
    }

    private static string CultureInfoInvariant(FormattableString s) => FormattableString.Invariant(s);

    private static string Replay(string trace, bool readAhead)
    {
        var engine = ReplayEngine.Create(new TraceRunOptions { Config = new MmConfig() }, [])!;
        var bytes = new MemoryStream();
        using (var output = new Utf8Output(bytes))
        {
            engine.AddSink(new EchoWriter(output));
            using var reader = new TraceReader(new StringReader(trace), "copy.trace");
            Assert.Null(TraceReplay.Run(reader, engine, readAhead: readAhead));
            output.Flush();
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
