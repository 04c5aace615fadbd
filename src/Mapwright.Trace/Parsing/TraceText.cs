namespace Mapwright.Trace.Parsing;

/// <summary>Character-level helpers shared by the trace parsers. All work on a range
/// <c>[start, end)</c> of a string, so that lines are never copied before they are understood.</summary>
internal static class TraceText
{
    private const int QuoteLimit = 40;

    public static int SkipSpaces(ReadOnlySpan<char> s, int i, int end)
    {
        while (i < end && char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i;
    }

    public static int TrimEnd(ReadOnlySpan<char> s, int start, int end)
    {
        while (end > start && char.IsWhiteSpace(s[end - 1]))
        {
            end--;
        }

        return end;
    }

    /// <summary>The end of a call name <c>[a-z_][a-z0-9_]*</c> starting at <paramref name="i"/>;
    /// <paramref name="i"/> itself when there is none.</summary>
    public static int ScanCallName(ReadOnlySpan<char> s, int i, int end)
    {
        if (i >= end || !(char.IsAsciiLetterLower(s[i]) || s[i] == '_'))
        {
            return i;
        }

        i++;
        while (i < end && (char.IsAsciiLetterLower(s[i]) || char.IsAsciiDigit(s[i]) || s[i] == '_'))
        {
            i++;
        }

        return i;
    }

    /// <summary>The end of a symbol <c>[A-Z_][A-Z0-9_]*</c> starting at <paramref name="i"/>;
    /// <paramref name="i"/> itself when there is none.</summary>
    public static int ScanSymbol(ReadOnlySpan<char> s, int i, int end)
    {
        if (i >= end || !(char.IsAsciiLetterUpper(s[i]) || s[i] == '_'))
        {
            return i;
        }

        i++;
        while (i < end && IsSymbolChar(s[i]))
        {
            i++;
        }

        return i;
    }

    public static bool IsSymbol(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty || !(char.IsAsciiLetterUpper(text[0]) || text[0] == '_'))
        {
            return false;
        }

        foreach (char c in text)
        {
            if (!IsSymbolChar(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool StartsWith(ReadOnlySpan<char> s, int i, int end, string prefix) =>
        end - i >= prefix.Length && s.Slice(i, prefix.Length).SequenceEqual(prefix);

    public static bool EndsWith(ReadOnlySpan<char> s, int start, int end, string suffix) =>
        end - start >= suffix.Length && s.Slice(end - suffix.Length, suffix.Length).SequenceEqual(suffix);

    /// <summary>
    /// The index of the bracket closing the one at <paramref name="open"/>, skipping nested
    /// brackets and string literals; -1 when it is not closed before <paramref name="end"/>
    /// or a bracket of another kind closes first.
    /// </summary>
    public static int FindGroupEnd(ReadOnlySpan<char> s, int open, int end)
    {
        var stack = new BracketStack();
        for (int i = open; i < end; i++)
        {
            char c = s[i];
            switch (c)
            {
                case '"':
                    i = CStringLiteral.FindClosingQuote(s, i, end);
                    if (i < 0)
                    {
                        return -1;
                    }

                    break;
                case '(' or '[' or '{':
                    stack.Push(c);
                    break;
                case ')' or ']' or '}':
                    if (stack.Count == 0 || stack.Pop() != Opener(c))
                    {
                        return -1;
                    }

                    if (stack.Count == 0)
                    {
                        return i;
                    }

                    break;
                default:
                    break;
            }
        }

        return -1;
    }

    public static char Opener(char closer) => closer switch
    {
        ')' => '(',
        ']' => '[',
        _ => '{',
    };

    /// <summary>Quotes text for a diagnostic, shortened to a readable length.</summary>
    /// <remarks>Control characters are written as <c>\xNN</c>, so that a diagnostic about a binary file cannot
    /// garble the terminal it is printed on.</remarks>
    public static string Quote(ReadOnlySpan<char> text)
    {
        bool cut = text.Length > QuoteLimit;
        var sb = new System.Text.StringBuilder(QuoteLimit + 8);
        sb.Append('\'');
        foreach (char c in cut ? text[..QuoteLimit] : text)
        {
            if (char.IsControl(c))
            {
                sb.Append("\\x").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.Append(cut ? "...'" : "'").ToString();
    }

    private static bool IsSymbolChar(char c) => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_';
}
