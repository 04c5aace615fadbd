using Mapwright.Abi;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceResultParsingTests
{
    private const string ResultForms = "trace-format.md: RESULT forms";

    private static TraceResult Result(string line)
    {
        var doc = TraceParser.Parse(line, "t.trace");
        Assert.Empty(doc.Errors);
        var result = Assert.Single(doc.Calls).Result;
        Assert.NotNull(result);
        return result;
    }

    [Theory]
    [Trait("Rule", ResultForms)]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff6000", 0x7ffff7ff6000L, "0x7ffff7ff6000")]
    [InlineData("munmap(0x1000, 4096) = 0", 0L, "0")]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDONLY) = 3", 3L, "3")]
    [InlineData("munmap(0x1000, 4096) = -1", -1L, "-1")]
    [InlineData("brk(NULL)                         = 0x555555559000", 0x555555559000L, "0x555555559000")]
    [InlineData("peek(0x1000, 0) = 0xcbf29ce484222325", unchecked((long)0xcbf29ce484222325UL), "0xcbf29ce484222325")]
    [InlineData("peek(0x1000, 0) = 0xffffffffffffffff", -1L, "0xffffffffffffffff")]
    public void ValueResultsReadDecimalAndFull64BitHex(string line, long value, string text)
    {
        var result = Result(line);

        Assert.Equal(TraceResultKind.Value, result.Kind);
        Assert.Equal(value, result.Value);
        Assert.Equal(Errno.None, result.Errno);
        Assert.Equal(text, result.Text);
    }

    [Theory]
    [Trait("Rule", ResultForms)]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)", Errno.ENOMEM, "-1 ENOMEM (Cannot allocate memory)")]
    [InlineData("munmap(0x1001, 4096) = -1 EINVAL", Errno.EINVAL, "-1 EINVAL")]
    [InlineData("fpeek(9, 0, 1) = -1 EBADF (Bad file descriptor) <0.000004>", Errno.EBADF, "-1 EBADF (Bad file descriptor)")]
    public void ErrorResultsCarryTheErrnoAndOptionalText(string line, Errno errno, string text)
    {
        var result = Result(line);

        Assert.Equal(TraceResultKind.Error, result.Kind);
        Assert.Equal(errno, result.Errno);
        Assert.Equal(-1L, result.Value);
        Assert.Equal(text, result.Text);
    }

    [Fact]
    [Trait("Rule", ResultForms)]
    public void AQuestionMarkIsAnUnknownResult()
    {
        var result = Result("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = ?");

        Assert.Equal(TraceResultKind.Unknown, result.Kind);
        Assert.Equal("?", result.Text);
    }

    [Fact]
    [Trait("Rule", ResultForms)]
    public void AnInterruptedCallsQuestionMarkWithRestartErrnoIsUnknown()
    {
        var result = Result("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3, 0) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");

        Assert.Equal(TraceResultKind.Unknown, result.Kind);
        Assert.Equal(Errno.None, result.Errno);
    }

    [Theory]
    [Trait("Rule", "trace-format.md: Access pseudo-calls (SIGSEGV, SIGBUS)")]
    [InlineData("SIGSEGV")]
    [InlineData("SIGBUS")]
    public void SignalResultsNameTheSignal(string signal)
    {
        var result = Result($"poke(0x1000, 8, 0xff) = {signal}");

        Assert.Equal(TraceResultKind.Signal, result.Kind);
        Assert.Equal(signal, result.Signal);
        Assert.Equal(signal, result.Text);
    }

    [Theory]
    [Trait("Rule", ResultForms)]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff6000 <0.000012>")]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDWR) = 3 (flags O_RDWR)")]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDWR) = 3 (flags (nested) O_RDWR) <0.000012>")]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDWR) = 3</tmp/f>")]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDWR)    =    3   ")]
    public void TrailingTimingAndParenthesisedTextAreIgnored(string line)
    {
        var result = Result(line);

        Assert.Equal(TraceResultKind.Value, result.Kind);
        Assert.True(result.Value is 3 or 0x7ffff7ff6000);
        Assert.DoesNotContain("<", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("(", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Execution and output")]
    public void ALineWithoutResultHasANullResult()
    {
        var doc = TraceParser.Parse("munmap(0x1000, 4096)", "t.trace");

        Assert.Null(Assert.Single(doc.Calls).Result);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Calls (others are skipped)")]
    public void AnUnknownCallKeepsAnUnreadableResultAsUnknownText()
    {
        var result = Result("connect(3, {sa_family=AF_INET, sin_port=htons(80)}, 16) = -1 EINPROGRESS (Operation now in progress)");

        Assert.Equal(TraceResultKind.Unknown, result.Kind);
        Assert.Equal("-1 EINPROGRESS (Operation now in progress)", result.Text);
    }
}
