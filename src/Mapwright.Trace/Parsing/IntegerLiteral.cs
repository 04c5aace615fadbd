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
        value = 0;
        bool overflow = false;
        foreach (char c in digits)
        {
            int d = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                >= 'A' and <= 'F' => c - 'A' + 10,
                _ => 99,
            };
            if (d >= radix)
            {
                return IntegerStatus.Invalid;
            }

            if (value > (ulong.MaxValue - (ulong)d) / (ulong)radix)
            {
                overflow = true;
            }

            value = unchecked((value * (ulong)radix) + (ulong)d);
        }

        return overflow ? IntegerStatus.Overflow : IntegerStatus.Ok;
    }
}
