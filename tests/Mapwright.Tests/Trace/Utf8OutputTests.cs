using System.Text;
using Mapwright.Trace.Output;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>The echo's writer: whatever mix of text it is given, the bytes are the text's UTF-8, as strace's own
/// output of the same log would be (paths and strings in a log may be any Unicode).</summary>
public sealed class Utf8OutputTests
{
    [Fact]
    [Trait("Format", "trace-format.md: output is UTF-8; ASCII narrows directly, other text through the encoder, at any buffer fill")]
    public void MixedTextIsWrittenAsItsUtf8WhateverTheBufferHolds()
    {
        string[] pieces =
        [
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            " = ",
            "openat(AT_FDCWD, \"/tmp/caf\u00e9/\u6587\u4ef6\", O_RDONLY)",
            "\U0001F600 surrogate pair",
            new string('x', 300),
            new string('\u00e9', 5000),
            "",
            "\n",
        ];
        var rng = new Random(12);
        var expected = new StringBuilder();
        using var sink = new MemoryStream();

        // A small buffer, so that texts land at every offset of it, cross its end and exceed it.
        using (var output = new Utf8Output(sink, bufferSize: 1024))
        {
            for (int i = 0; i < 2000; i++)
            {
                switch (rng.Next(3))
                {
                    case 0:
                        string text = pieces[rng.Next(pieces.Length)];
                        output.Write(text);
                        expected.Append(text);
                        break;
                    case 1:
                        long value = rng.NextInt64(long.MinValue, long.MaxValue) >> rng.Next(64);
                        output.Write(value);
                        expected.Append(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
                        break;
                    default:
                        char c = "a=\u00e9\n"[rng.Next(4)];
                        output.Write(c);
                        expected.Append(c);
                        break;
                }
            }
        }

        Assert.Equal(Encoding.UTF8.GetBytes(expected.ToString()), sink.ToArray());
    }
}
