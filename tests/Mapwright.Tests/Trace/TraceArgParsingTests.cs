using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceArgParsingTests
{
    private const string ArgForms = "trace-format.md: ARG forms";

    private static TraceCall SingleCall(string line)
    {
        var doc = TraceParser.Parse(line, "t.trace");
        Assert.Empty(doc.Errors);
        return Assert.Single(doc.Calls);
    }

    private static TraceArg Arg(string line, int index) => SingleCall(line).Args[index];

    [Theory]
    [Trait("Rule", ArgForms)]
    [InlineData("4096", 4096UL)]
    [InlineData("0", 0UL)]
    [InlineData("0x7ffff7ff6000", 0x7ffff7ff6000UL)]
    [InlineData("0X1F", 0x1fUL)]
    [InlineData("0xffffffffffffffff", ulong.MaxValue)]
    [InlineData("0x00000000000000000001", 1UL)]
    [InlineData("0644", 420UL)]
    [InlineData("00", 0UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    [InlineData("-1", ulong.MaxValue)]
    [InlineData("-100", 0xffffffffffffff9cUL)]
    [InlineData("-9223372036854775808", 0x8000000000000000UL)]
    [InlineData("01777777777777777777777", ulong.MaxValue)]
    [InlineData("18446744073709551609", 18446744073709551609UL)]
    public void IntegerArgumentsReadDecimalHexOctalAndNegativeDecimal(string text, ulong expected)
    {
        var arg = Arg($"munmap({text}, 4096)", 0);

        Assert.Equal(TraceArgKind.Integer, arg.Kind);
        Assert.Equal(expected, arg.Value);
        Assert.Equal(text, arg.Text);
        Assert.Empty(arg.Symbols);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void RepeatedFlagsExpressionsKeepTheirOwnValues()
    {
        // The reader remembers recent flags expressions; expressions of one length with the same first and last
        // characters, read over and over and interleaved, must each keep the OR of their own symbols.
        string[] expressions =
        [
            "PROT_READ|PROT_WRITE", "PROT_WRITE|PROT_READ", "PROT_READ|PROT_EXEC", "PROT_EXEC|PROT_READ",
            "PROT_READ|PROT_WRITE|PROT_EXEC", "PROT_READ|PROT_WRITE|PROT_NONE", "PROT_NONE|PROT_READ", "PROT_READ",
        ];
        string text = string.Join('\n', Enumerable.Range(0, 5).SelectMany(_ => expressions)
            .Select(e => $"mprotect(0x1000, 4096, {e})"));
        var doc = TraceParser.Parse(text, "t.trace");
        Assert.Empty(doc.Errors);
        for (int i = 0; i < doc.Calls.Count; i++)
        {
            string expression = expressions[i % expressions.Length];
            ulong expected = 0;
            foreach (string symbol in expression.Split('|'))
            {
                Assert.True(TraceSymbols.TryGet(symbol, out ulong v));
                expected |= v;
            }

            Assert.Equal(expected, doc.Calls[i].Args[2].Value);
            Assert.Equal(expression.Split('|'), doc.Calls[i].Args[2].Symbols);
        }
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void AnInlineCommentAfterANumberIsIgnored()
    {
        var arg = Arg("brk(0x555555559000 /* heap start */)", 0);

        Assert.Equal(TraceArgKind.Integer, arg.Kind);
        Assert.Equal(0x555555559000UL, arg.Value);
        Assert.Equal("0x555555559000 /* heap start */", arg.Text);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void AStraceYPathAnnotationAfterAFileDescriptorIsIgnored()
    {
        var arg = Arg("mmap(NULL, 27046, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7ffff7fbc000", 4);

        Assert.Equal(TraceArgKind.Integer, arg.Kind);
        Assert.Equal(3UL, arg.Value);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void NullIsItsOwnKindWithValueZero()
    {
        var arg = Arg("brk(NULL)", 0);

        Assert.Equal(TraceArgKind.Null, arg.Kind);
        Assert.Equal(0UL, arg.Value);
        Assert.Equal("NULL", arg.Text);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void AtFdcwdIsItsOwnKindWithValueMinus100()
    {
        var arg = Arg("openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY)", 0);

        Assert.Equal(TraceArgKind.AtFdcwd, arg.Kind);
        Assert.Equal(unchecked((ulong)-100), arg.Value);
        Assert.Equal("AT_FDCWD", arg.Text);
    }

    [Theory]
    [Trait("Rule", ArgForms)]
    [InlineData("mprotect(0x1000, 4096, PROT_READ|PROT_WRITE)", 2, 0x3UL, new[] { "PROT_READ", "PROT_WRITE" })]
    [InlineData("mprotect(0x1000, 4096, PROT_NONE)", 2, 0x0UL, new[] { "PROT_NONE" })]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)", 3, 0x32UL, new[] { "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_FIXED" })]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|0x40, -1, 0)", 3, 0x42UL, new[] { "MAP_PRIVATE" })]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, -1, 0)", 3, 0x22UL | 0x40000UL | (21UL << 26), new[] { "MAP_PRIVATE", "MAP_ANONYMOUS", "MAP_HUGETLB", "MAP_HUGE_SHIFT" })]
    [InlineData("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|0x80000000 /* MAP_??? */, -1, 0)", 3, 0x80000022UL, new[] { "MAP_PRIVATE", "MAP_ANONYMOUS" })]
    [InlineData("mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, 3, 0)", 2, 0x5UL, new[] { "PROT_READ", "PROT_EXEC" })]
    [InlineData("madvise(0x1000, 4096, MADV_DONTNEED)", 2, 4UL, new[] { "MADV_DONTNEED" })]
    [InlineData("mremap(0x1000, 4096, 8192, MREMAP_MAYMOVE)", 3, 1UL, new[] { "MREMAP_MAYMOVE" })]
    [InlineData("msync(0x1000, 4096, MS_SYNC|MS_INVALIDATE)", 2, 6UL, new[] { "MS_SYNC", "MS_INVALIDATE" })]
    [InlineData("mlockall(MCL_CURRENT)", 0, 1UL, new[] { "MCL_CURRENT" })]
    [InlineData("openat(AT_FDCWD, \"f\", O_RDONLY)", 2, 0UL, new[] { "O_RDONLY" })]
    [InlineData("memfd_create(\"m\", MFD_CLOEXEC|MFD_ALLOW_SEALING)", 1, 3UL, new[] { "MFD_CLOEXEC", "MFD_ALLOW_SEALING" })]
    [InlineData("poke(0x1000, 1, F_SEAL_SEAL|F_SEAL_WRITE)", 2, 9UL, new[] { "F_SEAL_SEAL", "F_SEAL_WRITE" })]
    public void FlagExpressionsOrTheirTermsAndNameTheirSymbols(string line, int index, ulong value, string[] symbols)
    {
        var arg = Arg(line, index);

        Assert.Equal(TraceArgKind.Flags, arg.Kind);
        Assert.Equal(value, arg.Value);
        Assert.Equal(symbols, arg.Symbols);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void FlagsTextIsTheExpressionAsWritten()
    {
        Assert.Equal("PROT_READ|PROT_WRITE", Arg("mprotect(0x1000, 4096, PROT_READ|PROT_WRITE)", 2).Text);
    }

    [Theory]
    [Trait("Rule", ArgForms)]
    [InlineData("""
        "/etc/ld.so.cache"
        """, "/etc/ld.so.cache")]
    [InlineData("""
        ""
        """, "")]
    [InlineData("""
        "a\nb\tc\\d\"e"
        """, "a\nb\tc\\d\"e")]
    [InlineData("""
        "\x41\x42C"
        """, "ABC")]
    [InlineData("""
        "nul\0end"
        """, "nul\0end")]
    [InlineData("""
        "\101\102\103"
        """, "ABC")]
    [InlineData("""
        "\r\v\f\a\b\'\?"
        """, "\r\v\f\a\b'?")]
    [InlineData("""
        "caf\303\251"
        """, "café")]
    [InlineData("""
        "café"
        """, "café")]
    [InlineData("""
        "comma, (paren [bracket {brace"
        """, "comma, (paren [bracket {brace")]
    [InlineData("""
        "truncat"...
        """, "truncat")]
    public void StringArgumentsDecodeCEscapes(string literal, string expected)
    {
        var arg = Arg($"openat(AT_FDCWD, {literal}, O_RDONLY)", 1);

        Assert.Equal(TraceArgKind.String, arg.Kind);
        Assert.Equal(expected, arg.Text);
        Assert.Equal(0UL, arg.Value);
    }

    [Theory]
    [Trait("Rule", ArgForms)]
    [InlineData("[1, 0, 1]")]
    [InlineData("[]")]
    [InlineData("{st_mode=S_IFREG|0644, st_size=1234, ...}")]
    [InlineData("""
        [{iov_base="a,b)", iov_len=3}, {iov_base=[1, [2, {3}]], iov_len=1}]
        """)]
    public void BracketedArgumentsAreOpaqueRawText(string text)
    {
        var arg = Arg($"mincore(0x1000, 12288, {text})", 2);

        Assert.Equal(TraceArgKind.Opaque, arg.Kind);
        Assert.Equal(text, arg.Text);
        Assert.Equal(0UL, arg.Value);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void ACallWithNoArgumentsHasAnEmptyList()
    {
        Assert.Empty(SingleCall("maps()").Args);
        Assert.Empty(SingleCall("munlockall( )").Args);
    }

    [Fact]
    [Trait("Rule", ArgForms)]
    public void ArgumentsAreTrimmedAndSplitOnlyAtTopLevelCommas()
    {
        var call = SingleCall("""memfd_create( "a,b" ,  2 )""");

        Assert.Equal(2, call.Args.Count);
        Assert.Equal("a,b", call.Args[0].Text);
        Assert.Equal(2UL, call.Args[1].Value);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Access pseudo-calls")]
    public void AccessPseudoCallsParseLikeSyscalls()
    {
        var doc = TraceParser.Parse(
            """
            peek(0x7ffff7ff6000, 4096) = 0xcbf29ce484222325
            poke(0x7ffff7ff6000, 16, 0xaa) = 0
            fpeek(3, 0, 100) = -1 EBADF (Bad file descriptor)
            maps()
            failpoint("vma_alloc", 1)
            peek(0x1000, 1) = SIGSEGV
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(["peek", "poke", "fpeek", "maps", "failpoint", "peek"], doc.Calls.Select(c => c.Name));
        Assert.Equal("vma_alloc", doc.Calls[4].Args[0].Text);
        Assert.Equal(TraceArgKind.String, doc.Calls[4].Args[0].Kind);
        Assert.Null(doc.Calls[3].Result);
    }
}
