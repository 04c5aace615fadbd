using System.Text;

namespace Mapwright.Trace.Parsing;

/// <summary>C string literals as strace prints them: <c>"\177ELF\2\1"</c>, <c>"a\tb\n"</c>, <c>"\x41"</c>.</summary>
internal static class CStringLiteral
{
    /// <summary>The index of the quote closing the literal that opens at <paramref name="open"/>,
    /// or -1 when it is not closed before <paramref name="end"/>.</summary>
    public static int FindClosingQuote(ReadOnlySpan<char> s, int open, int end)
    {
        for (int i = open + 1; i < end; i++)
        {
            char c = s[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c == '"')
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Decodes the body of a literal (between the quotes). Escapes produce bytes, other text its UTF-8
    /// bytes, and the whole is read back as UTF-8, so that strace's octal-escaped UTF-8 file names
    /// (<c>"caf\303\251"</c>) and the same name written plainly decode alike.
    /// An escape C does not define stands for the escaped character itself.
    /// </summary>
    public static string Decode(ReadOnlySpan<char> body)
    {
        if (body.IndexOf('\\') < 0)
        {
            return body.ToString();
        }

        byte[] bytes = new byte[Encoding.UTF8.GetMaxByteCount(body.Length)];
        int n = 0;
        int i = 0;
        while (i < body.Length)
        {
            int backslash = body[i..].IndexOf('\\');
            int runEnd = backslash < 0 ? body.Length : i + backslash;
            n += Encoding.UTF8.GetBytes(body[i..runEnd], bytes.AsSpan(n));
            i = runEnd;
            if (i >= body.Length)
            {
                break;
            }

            i++;
            if (i >= body.Length)
            {
                bytes[n++] = (byte)'\\';
                break;
            }

            char c = body[i++];
            int simple = SimpleEscape(c);
            if (simple >= 0)
            {
                bytes[n++] = (byte)simple;
                continue;
            }

            switch (c)
            {
                case 'x':
                    int hex = 0;
                    int hexDigits = 0;
                    while (hexDigits < 2 && i < body.Length && char.IsAsciiHexDigit(body[i]))
                    {
                        hex = (hex * 16) + HexValue(body[i]);
                        i++;
                        hexDigits++;
                    }

                    bytes[n++] = hexDigits == 0 ? (byte)'x' : (byte)hex;
                    break;
                case >= '0' and <= '7':
                    int oct = c - '0';
                    int octDigits = 1;
                    while (octDigits < 3 && i < body.Length && body[i] is >= '0' and <= '7')
                    {
                        oct = (oct * 8) + (body[i] - '0');
                        i++;
                        octDigits++;
                    }

                    bytes[n++] = (byte)(oct & 0xff);
                    break;
                default:
                    // \\, \", \', \? and anything else: the character itself.
                    n += Encoding.UTF8.GetBytes(body.Slice(i - 1, 1), bytes.AsSpan(n));
                    break;
            }
        }

        return Encoding.UTF8.GetString(bytes, 0, n);
    }

    /// <summary>The byte of a one-letter escape (<c>\n</c>, <c>\t</c>, ...), or -1.</summary>
    private static int SimpleEscape(char c) => c switch
    {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        'v' => 0x0b,
        'f' => 0x0c,
        'a' => 0x07,
        'b' => 0x08,
        _ => -1,
    };

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };
}
