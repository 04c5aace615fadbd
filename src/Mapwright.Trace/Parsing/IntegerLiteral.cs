namespace Mapwright.Trace.Parsing;

/// <summary>Integer literals as strace prints them and C spells them: decimal (optionally negative),
/// <c>0x</c> hex, leading-<c>0</c> octal; all 64-bit.</summary>
internal static class IntegerLiteral
{
    /// <summary>Reads a whole token as an integer. A negative decimal down to <see cref="long.MinValue"/>
    /// is returned as its two's complement.</summary>
    public static IntegerStatus Parse(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        bool negative = false;
        if (!text.IsEmpty && text[0] == '-')
        {
            negative = true;
            text = text[1..];
        }

        if (text.IsEmpty)
        {
            return IntegerStatus.Invalid;
        }

        int radix = 10;
        if (text.Length > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        {
            radix = 16;
            text = text[2..];
        }
        else if (text.Length > 1 && text[0] == '0')
        {
            radix = 8;
            text = text[1..];
        }

        if (negative && radix != 10)
        {
            return IntegerStatus.Invalid;
        }

        IntegerStatus status = ParseDigits(text, radix, out ulong magnitude);
        if (status != IntegerStatus.Ok)
        {
            return status;
        }

        if (negative)
        {
            if (magnitude > 1UL << 63)
            {
                return IntegerStatus.Overflow;
            }

            value = unchecked(0UL - magnitude);
        }
        else
        {
            value = magnitude;
        }

        return IntegerStatus.Ok;
    }

    /// <summary>Whether a token looks like a number (so that its failure to parse is a number error).</summary>
    public static bool LooksNumeric(ReadOnlySpan<char> text) =>
        !text.IsEmpty && (char.IsAsciiDigit(text[0]) || text[0] == '-');

    /// <summary>The diagnostic for a failed <see cref="Parse"/>.</summary>
    public static string Describe(IntegerStatus status, ReadOnlySpan<char> token) => status == IntegerStatus.Overflow
        ? "number " + TraceText.Quote(token) + " does not fit in 64 bits"
        : "invalid number " + TraceText.Quote(token);

    private static IntegerStatus ParseDigits(ReadOnlySpan<char> digits, int radix, out ulong value)
    {
        // Radix-specific loops: the overflow test is a shift or one comparison, never a division per digit.
        value = 0;
        bool overflow = false;
        switch (radix)
        {
            case 16:
                foreach (char c in digits)
                {
                    int d = HexDigit(c);
                    if (d < 0)
                    {
                        return IntegerStatus.Invalid;
                    }

                    overflow |= value >> 60 != 0;
                    value = (value << 4) | (uint)d;
                }

                break;
            case 8:
                foreach (char c in digits)
                {
                    uint d = (uint)(c - '0');
                    if (d > 7)
                    {
                        return IntegerStatus.Invalid;
                    }

                    overflow |= value >> 61 != 0;
                    value = (value << 3) | d;
                }

                break;
            default:
                const ulong Limit = ulong.MaxValue / 10;
                const uint LastDigit = (uint)(ulong.MaxValue % 10);
                foreach (char c in digits)
                {
                    uint d = (uint)(c - '0');
                    if (d > 9)
                    {
                        return IntegerStatus.Invalid;
                    }

                    overflow |= value > Limit || (value == Limit && d > LastDigit);
                    value = unchecked((value * 10) + d);
                }

                break;
        }

        return overflow ? IntegerStatus.Overflow : IntegerStatus.Ok;
    }

    private static int HexDigit(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };
}
