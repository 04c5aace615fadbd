using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceParserErrorTests
{
    private const string Rule = "trace-format.md: Lines (any other line is an error, FILE:LINE: message)";

    private static string SingleError(string line)
    {
        var doc = TraceParser.Parse(line, "bad.trace");
        Assert.Empty(doc.Calls);
        return Assert.Single(doc.Errors).ToString();
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("hello world", "bad.trace:1: not a call: 'hello world'")]
    [InlineData("mmap", "bad.trace:1: not a call: 'mmap'")]
    [InlineData("MMAP(NULL)", "bad.trace:1: not a call: 'MMAP(NULL)'")]
    [InlineData("mmap (NULL, 4096, PROT_READ, MAP_SHARED, 3, 0)", "bad.trace:1: not a call: 'mmap (NULL, 4096, PROT_READ, MAP_SHARED,...'")]
    [InlineData("= 0", "bad.trace:1: not a call: '= 0'")]
    [InlineData("0x10 maps()", "bad.trace:1: not a call: '0x10 maps()'")]
    [InlineData("123", "bad.trace:1: missing call after pid")]
    [InlineData("[pid] maps()", "bad.trace:1: invalid pid prefix '[pid]'")]
    [InlineData("99999999999 maps()", "bad.trace:1: pid out of range '99999999999'")]
    public void TextThatIsNotACallIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("munmap(0x1000, 4096", "bad.trace:1: unbalanced parenthesis")]
    [InlineData("munmap(0x1000, 4096)) = 0", "bad.trace:1: unbalanced parenthesis")]
    [InlineData("mincore(0x1000, 4096, [1, 2)", "bad.trace:1: unbalanced parenthesis")]
    [InlineData("mincore(0x1000, 4096, [1, 2", "bad.trace:1: unbalanced bracket")]
    [InlineData("mincore(0x1000, 4096, {1, 2])", "bad.trace:1: unbalanced bracket")]
    [InlineData("mincore(0x1000, 4096, 1])", "bad.trace:1: unbalanced bracket")]
    [InlineData("openat(AT_FDCWD, \"/etc/passwd, O_RDONLY)", "bad.trace:1: unbalanced quote")]
    [InlineData("fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...) = 0", "bad.trace:1: unbalanced parenthesis")]
    [InlineData("munmap(0x1000 /* oops, 4096)", "bad.trace:1: unterminated comment")]
    public void UnbalancedBracketsAndQuotesAreErrors(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("mmap(NULL, , 3)", "bad.trace:1: empty argument 2")]
    [InlineData("munmap(, 4096)", "bad.trace:1: empty argument 1")]
    [InlineData("munmap(0x1000,)", "bad.trace:1: empty argument 2")]
    [InlineData("read(3, , 832)", "bad.trace:1: empty argument 2")]
    public void AnEmptyArgumentIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("munmap(0x10000000000000000, 4096)", "bad.trace:1: number '0x10000000000000000' does not fit in 64 bits")]
    [InlineData("munmap(18446744073709551616, 4096)", "bad.trace:1: number '18446744073709551616' does not fit in 64 bits")]
    [InlineData("munmap(-9223372036854775809, 4096)", "bad.trace:1: number '-9223372036854775809' does not fit in 64 bits")]
    [InlineData("munmap(02000000000000000000000, 4096)", "bad.trace:1: number '02000000000000000000000' does not fit in 64 bits")]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|1<<64, -1, 0)", "bad.trace:1: number '1<<64' does not fit in 64 bits")]
    [InlineData("peek(0x1000, 1) = 0x10000000000000000", "bad.trace:1: number '0x10000000000000000' does not fit in 64 bits")]
    public void ANumberThatDoesNotFitIn64BitsIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("munmap(0x1g, 4096)", "bad.trace:1: invalid number '0x1g'")]
    [InlineData("munmap(0x, 4096)", "bad.trace:1: invalid number '0x'")]
    [InlineData("munmap(0999, 4096)", "bad.trace:1: invalid number '0999'")]
    [InlineData("munmap(-0x10, 4096)", "bad.trace:1: invalid number '-0x10'")]
    [InlineData("munmap(12ab, 4096)", "bad.trace:1: invalid number '12ab'")]
    [InlineData("munmap(addr, 4096)", "bad.trace:1: invalid argument 'addr'")]
    [InlineData("mprotect(0x1000, 4096, PROT_READ|)", "bad.trace:1: invalid argument 'PROT_READ|'")]
    [InlineData("openat(AT_FDCWD, \"f\" \"g\", O_RDONLY)", "bad.trace:1: unexpected text after string: '\"g\"'")]
    public void AMalformedArgumentOfAKnownCallIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", "trace-format.md: ARG forms (unknown symbolic flags are an error)")]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVTE|MAP_ANONYMOUS, -1, 0)", "bad.trace:1: unknown symbol 'MAP_PRIVTE'")]
    [InlineData("madvise(0x1000, 4096, MADV_DONTNEEED)", "bad.trace:1: unknown symbol 'MADV_DONTNEEED'")]
    [InlineData("mprotect(0x1000, 4096, PROT_READ|PROT_WRITE|PROT_BOGUS)", "bad.trace:1: unknown symbol 'PROT_BOGUS'")]
    public void AnUnknownSymbolIsAnErrorNamingIt(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3)", "bad.trace:1: mmap expects 6 arguments, got 5")]
    [InlineData("brk()", "bad.trace:1: brk expects 1 argument, got 0")]
    [InlineData("maps(1)", "bad.trace:1: maps expects 0 arguments, got 1")]
    [InlineData("mremap(0x1000, 4096, 8192)", "bad.trace:1: mremap expects 4 or 5 arguments, got 3")]
    [InlineData("mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, 0x2000, 0)", "bad.trace:1: mremap expects 4 or 5 arguments, got 6")]
    [InlineData("openat(AT_FDCWD, \"f\")", "bad.trace:1: openat expects 3 or 4 arguments, got 2")]
    public void AKnownCallWithTheWrongNumberOfArgumentsIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData("munmap(0x1000, 4096) =", "bad.trace:1: missing result after '='")]
    [InlineData("munmap(0x1000, 4096) =    ", "bad.trace:1: missing result after '='")]
    [InlineData("munmap(0x1000, 4096) = -1 EFOO (Foo)", "bad.trace:1: unknown errno 'EFOO'")]
    [InlineData("munmap(0x1000, 4096) = -1 ENOMEM (Cannot allocate memory", "bad.trace:1: unbalanced parenthesis")]
    [InlineData("munmap(0x1000, 4096) = 0 garbage", "bad.trace:1: unexpected text after result: 'garbage'")]
    [InlineData("munmap(0x1000, 4096) = 0 <0.000012", "bad.trace:1: unexpected text after result: '<0.000012'")]
    [InlineData("munmap(0x1000, 4096) = 0 ENOMEM", "bad.trace:1: unexpected text after result: 'ENOMEM'")]
    [InlineData("munmap(0x1000, 4096) = zero", "bad.trace:1: invalid result 'zero'")]
    [InlineData("munmap(0x1000, 4096) = SIGKILL", "bad.trace:1: invalid result 'SIGKILL'")]
    [InlineData("munmap(0x1000, 4096) = ? later", "bad.trace:1: unexpected text after result: 'later'")]
    [InlineData("munmap(0x1000, 4096) 0", "bad.trace:1: unexpected text after call: '0'")]
    public void AMalformedResultIsAnError(string line, string expected)
    {
        Assert.Equal(expected, SingleError(line));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void ParsingContinuesAfterAnErrorAndReportsEveryBadLineInOrder()
    {
        var doc = TraceParser.Parse(
            """
            # header
            mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff6000
            munmap(0x7ffff7ff6000
            mprotect(0x7ffff7ff6000, 4096, PROT_READ) = 0
            mmap(NULL, , 3)
            madvise(0x7ffff7ff6000, 4096, MADV_DONTNEED) =
            not a call at all
            maps()
            """,
            "scenario.trace");

        Assert.Equal(
            [
                "scenario.trace:3: unbalanced parenthesis",
                "scenario.trace:5: empty argument 2",
                "scenario.trace:6: missing result after '='",
                "scenario.trace:7: not a call: 'not a call at all'",
            ],
            doc.Errors.Select(e => e.ToString()));
        Assert.Equal(["mmap", "mprotect", "maps"], doc.Calls.Select(c => c.Name));
        Assert.Equal([2, 4, 8], doc.Calls.Select(c => c.Line));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void ADiagnosticPrintsAsFileColonLineColonMessage()
    {
        var diagnostic = new TraceDiagnostic("x.trace", 12, "empty argument 2");

        Assert.Equal("x.trace:12: empty argument 2", diagnostic.ToString());
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AVeryLongBadLineIsQuotedShortened()
    {
        string message = SingleError("x" + new string('y', 500));

        Assert.True(message.Length < 100, message);
        Assert.EndsWith("...'", message, StringComparison.Ordinal);
    }
}
