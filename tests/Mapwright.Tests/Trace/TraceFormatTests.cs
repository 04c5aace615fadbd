using Mapwright.Abi;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceFormatTests
{
    private const string Rule = "trace-format.md: Execution and output (strace's spelling)";

    [Theory]
    [Trait("Rule", Rule)]
    [InlineData(0UL, "0x0")]
    [InlineData(0x7ffff7ff6000UL, "0x7ffff7ff6000")]
    [InlineData(0xcbf29ce484222325UL, "0xcbf29ce484222325")]
    public void FormatHexIsLowerCaseWithoutPadding(ulong value, string expected)
    {
        Assert.Equal(expected, TraceFormat.FormatHex(value));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void FormatResultSpellsValuesAndErrorsAsStraceDoes()
    {
        Assert.Equal("0x7ffff7ff6000", TraceFormat.FormatResult(SysResult.Ok(0x7ffff7ff6000), hex: true));
        Assert.Equal("0", TraceFormat.FormatResult(SysResult.Ok(0), hex: false));
        Assert.Equal("-1 ENOMEM (Cannot allocate memory)", TraceFormat.FormatResult(Errno.ENOMEM, hex: true));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AFormattedResultParsesBackToTheSameResult()
    {
        SysResult[] results = [SysResult.Ok(0x7ffff7ff6000), SysResult.Ok(0), Errno.ENOMEM, Errno.EBADF];
        foreach (var r in results)
        {
            var doc = TraceParser.Parse("munmap(0x1000, 4096) = " + TraceFormat.FormatResult(r, hex: true), "t.trace");
            Assert.Empty(doc.Errors);
            var parsed = Assert.Single(doc.Calls).Result!;
            Assert.Equal(r.IsError ? TraceResultKind.Error : TraceResultKind.Value, parsed.Kind);
            Assert.Equal(r.Errno, parsed.Errno);
            if (!r.IsError)
            {
                Assert.Equal(r.Raw, parsed.Value);
            }
        }
    }
}
