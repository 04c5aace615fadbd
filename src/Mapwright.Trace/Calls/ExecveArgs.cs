using System.Globalization;
using System.Text;

namespace Mapwright.Trace.Calls;

/// <summary>
/// execve's string arrays as strace prints them: <c>["ls", "-l"]</c>; with strings cut at <c>-s</c> characters
/// (<c>"abc"...</c>) and arrays cut after as many elements (<c>["a", ...]</c>); or, for the environment without
/// <c>-v</c>, only an address and a count (<c>0x7ffd5c3f1e28 /* 23 vars */</c>); or <c>NULL</c>.
/// </summary>
internal sealed class ExecveArgs
{
    private ExecveArgs(List<byte[]>? strings, int? count, bool truncated)
    {
        Strings = strings;
        Count = count;
        Truncated = truncated;
    }

    /// <summary>The strings, or null when the log shows only an address.</summary>
    public List<byte[]>? Strings { get; }

    /// <summary>The count strace printed in a <c>/* N vars */</c> comment, if any.</summary>
    public int? Count { get; }

    /// <summary>Some string or the array itself was cut by strace: the sizes are lower bounds.</summary>
    public bool Truncated { get; }

    /// <summary>Reads one argument's text.</summary>
    public static ExecveArgs Parse(ReadOnlySpan<char> text)
    {
        text = text.Trim();
        if (text.SequenceEqual("NULL"))
        {
            return new ExecveArgs([], null, truncated: false);
        }

        if (text.Length == 0 || text[0] != '[')
        {
            int open = text.IndexOf("/*", StringComparison.Ordinal);
            int? count = null;
            if (open >= 0)
            {
                ReadOnlySpan<char> comment = text[(open + 2)..].TrimStart();
                int digits = 0;
                while (digits < comment.Length && char.IsAsciiDigit(comment[digits]))
                {
                    digits++;
                }

                if (int.TryParse(comment[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                {
                    count = n;
                }
            }

            return new ExecveArgs(null, count, truncated: false);
        }

        var strings = new List<byte[]>();
        bool truncated = false;
        int i = 1;
        while (i < text.Length)
        {
            char c = text[i];
            if (c is ' ' or ',')
            {
                i++;
            }
            else if (c == ']')
            {
                break;
            }
            else if (c == '"')
            {
                strings.Add(ReadString(text, ref i));
                if (text[i..].StartsWith("...", StringComparison.Ordinal))
                {
                    truncated = true;
                    i += 3;
                }
            }
            else if (text[i..].StartsWith("...", StringComparison.Ordinal))
            {
                truncated = true;
                i += 3;
            }
            else
            {
                // An element strace could not read (an address): skip it.
                while (i < text.Length && text[i] is not (',' or ']'))
                {
                    i++;
                }
            }
        }

        return new ExecveArgs(strings, null, truncated);
    }

    /// <summary>A C string literal from <paramref name="i"/> (its opening quote) as bytes; <paramref name="i"/> ends
    /// after the closing quote.</summary>
    private static byte[] ReadString(ReadOnlySpan<char> text, ref int i)
    {
        var bytes = new List<byte>();
        Span<byte> utf8 = stackalloc byte[4];
        i++;
        while (i < text.Length && text[i] != '"')
        {
            char c = text[i++];
            if (c != '\\' || i >= text.Length)
            {
                int n = Encoding.UTF8.GetBytes([c], utf8);
                for (int k = 0; k < n; k++)
                {
                    bytes.Add(utf8[k]);
                }

                continue;
            }

            char e = text[i++];
            switch (e)
            {
                case 'n': bytes.Add((byte)'\n'); break;
                case 't': bytes.Add((byte)'\t'); break;
                case 'r': bytes.Add((byte)'\r'); break;
                case 'v': bytes.Add(0x0b); break;
                case 'f': bytes.Add(0x0c); break;
                case 'a': bytes.Add(0x07); break;
                case 'b': bytes.Add(0x08); break;
                case 'x':
                    int hex = 0, hexDigits = 0;
                    while (hexDigits < 2 && i < text.Length && char.IsAsciiHexDigit(text[i]))
                    {
                        hex = (hex * 16) + Convert.ToInt32(text[i].ToString(), 16);
                        i++;
                        hexDigits++;
                    }

                    bytes.Add(hexDigits == 0 ? (byte)'x' : (byte)hex);
                    break;
                case >= '0' and <= '7':
                    int oct = e - '0', octDigits = 1;
                    while (octDigits < 3 && i < text.Length && text[i] is >= '0' and <= '7')
                    {
                        oct = (oct * 8) + (text[i] - '0');
                        i++;
                        octDigits++;
                    }

                    bytes.Add((byte)(oct & 0xff));
                    break;
                default:
                    bytes.Add((byte)e);
                    break;
            }
        }

        i++;
        return [.. bytes];
    }
}
