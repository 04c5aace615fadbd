using System.Text;
using Mapwright.Trace.Calls;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class ExecveArgsTests
{
    [Fact]
    [Trait("Linux", "strace printargv(): execve's arrays as strace prints them, C escapes decoded to the bytes the kernel copies")]
    public void StringArraysAreDecodedToBytes()
    {
        ExecveArgs a = ExecveArgs.Parse("[\"ls\", \"-l\", \"a\\\"b\\n\\303\\251\\x41\"]");
        Assert.NotNull(a.Strings);
        Assert.Equal(3, a.Strings!.Count);
        Assert.Equal("ls", Encoding.ASCII.GetString(a.Strings[0]));
        Assert.Equal(new byte[] { (byte)'a', (byte)'"', (byte)'b', (byte)'\n', 0xc3, 0xa9, 0x41 }, a.Strings[2]);
        Assert.False(a.Truncated);
    }

    [Fact]
    [Trait("Linux", "strace -s and max_strlen: cut strings end in \"...\"..., cut arrays in ...; both are flagged")]
    public void CutStringsAndArraysAreFlagged()
    {
        ExecveArgs a = ExecveArgs.Parse("[\"python3\", \"-c\", \"import sys; print(sys.version_in\"...]");
        Assert.True(a.Truncated);
        Assert.Equal(3, a.Strings!.Count);
        ExecveArgs b = ExecveArgs.Parse("[\"a\", \"b\", ...]");
        Assert.True(b.Truncated);
        Assert.Equal(2, b.Strings!.Count);
    }

    [Fact]
    [Trait("Linux", "strace without -v: the environment is an address and a /* N vars */ count; NULL is an empty array")]
    public void AbbreviatedEnvironmentKeepsItsCount()
    {
        ExecveArgs e = ExecveArgs.Parse("0x7ffd5c3f1e28 /* 23 vars */");
        Assert.Null(e.Strings);
        Assert.Equal(23, e.Count);
        ExecveArgs n = ExecveArgs.Parse("NULL");
        Assert.Empty(n.Strings!);
    }
}
