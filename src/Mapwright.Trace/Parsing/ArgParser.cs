using System.Diagnostics.CodeAnalysis;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads one argument of a call, already cut out by <see cref="CallParser"/> (balanced, trimmed, non-empty). Where
/// the call's row asks for a number or a string the argument must be one; elsewhere (a call outside the model,
/// strace's structures, <c>fstat</c>, <c>rt_sigaction</c>, ...) an argument that is not well formed is kept as
/// <see cref="TraceArgKind.Opaque"/>. Allocates nothing for a well-formed argument.
/// </summary>
internal static class ArgParser
{
    private const string Ellipsis = "...";

    /// <summary>Reads <c>s[start, end)</c>; on success <paramref name="kind"/> and <paramref name="value"/>
    /// describe it.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, int start, int end, bool strict, out TraceArgKind kind, out ulong value, out SyntaxError error)
    {
        error = default;
        value = 0;
        kind = TraceArgKind.Opaque;
        char first = s[start];
        if (first is '[' or '{')
        {
            return true;
        }

        string? message = first == '"'
            ? CheckString(s, start, end)
            : TryParseValue(s[start..end], null, out kind, out value);
        if (message is null)
        {
            if (first == '"')
            {
                kind = TraceArgKind.String;
            }

            return true;
        }

        kind = TraceArgKind.Opaque;
        value = 0;
        if (!strict)
        {
            return true;
        }

        error = new SyntaxError(message, start);
        return false;
    }

    /// <summary>The symbols a flags argument uses, in order (for <see cref="TraceArg.Symbols"/>).</summary>
    public static void CollectSymbols(ReadOnlySpan<char> raw, List<string> symbols) => TryParseValue(raw, symbols, out _, out _);

    /// <summary>A string literal, optionally followed by strace's <c>...</c> truncation mark (decoded later, by
    /// <see cref="CallLine.ArgString"/>, when a call needs it).</summary>
    private static string? CheckString(ReadOnlySpan<char> s, int start, int end)
    {
        int close = CStringLiteral.FindClosingQuote(s, start, end);
        if (close < 0)
        {
            return "unbalanced quote";
        }

        int after = close + 1;
        if (TraceText.StartsWith(s, after, end, Ellipsis))
        {
            after += Ellipsis.Length;
        }

        ReadOnlySpan<char> rest = s[after..end];
        if (!rest.IsWhiteSpace())
        {
            string stripped = StripDecorations(rest);
            if (stripped.Length != 0)
            {
                return "unexpected text after string: " + TraceText.Quote(stripped);
            }
        }

        return null;
    }

    /// <summary><c>NULL</c>, <c>AT_FDCWD</c>, an integer or a flags expression; null on success, else the
    /// diagnostic.</summary>
    private static string? TryParseValue(ReadOnlySpan<char> raw, List<string>? symbols, out TraceArgKind kind, out ulong value)
    {
        kind = TraceArgKind.Opaque;
        value = 0;

        // Fast paths for what most lines hold, each giving exactly what the general reading below would: a plain
        // number, and a flags expression read before.
        if (symbols is null && !raw.IsEmpty)
        {
            if (char.IsAsciiDigit(raw[0]))
            {
                if (IntegerLiteral.Parse(raw, out value) == IntegerStatus.Ok)
                {
                    kind = TraceArgKind.Integer;
                    return null;
                }

                value = 0;
            }
            else if (FlagsCache.TryGet(raw, out value))
            {
                kind = TraceArgKind.Flags;
                return null;
            }
        }

        ReadOnlySpan<char> core = raw.Trim();
        string? stripped = null;
        if (core.IndexOfAny('/', '<') >= 0)
        {
            stripped = StripDecorations(core);
            core = stripped;
        }

        if (core.SequenceEqual("NULL"))
        {
            kind = TraceArgKind.Null;
            return null;
        }

        if (core.SequenceEqual("AT_FDCWD"))
        {
            kind = TraceArgKind.AtFdcwd;
            value = unchecked((ulong)-100);
            return null;
        }

        if (core.IsEmpty)
        {
            return "invalid argument " + TraceText.Quote(raw);
        }

        bool isExpression = core.IndexOf('|') >= 0 || core.IndexOf("<<", StringComparison.Ordinal) >= 0;
        if (!isExpression && IntegerLiteral.LooksNumeric(core))
        {
            IntegerStatus status = IntegerLiteral.Parse(core, out ulong number);
            if (status != IntegerStatus.Ok)
            {
                return IntegerLiteral.Describe(status, core);
            }

            kind = TraceArgKind.Integer;
            value = number;
            return null;
        }

        if (symbols is null && FlagsCache.TryGet(core, out value))
        {
            kind = TraceArgKind.Flags;
            return null;
        }

        ulong total = 0;
        foreach (Range r in core.Split('|'))
        {
            string? message = TryParseTerm(core[r].Trim(), raw, symbols, out ulong termValue);
            if (message is not null)
            {
                return message;
            }

            total |= termValue;
        }

        kind = TraceArgKind.Flags;
        value = total;
        if (symbols is null)
        {
            FlagsCache.Add(core, total);
        }

        return null;
    }

    /// <summary>One term of a flags expression: a symbol, a number, or strace's <c>21&lt;&lt;MAP_HUGE_SHIFT</c>.</summary>
    private static string? TryParseTerm(ReadOnlySpan<char> term, ReadOnlySpan<char> raw, List<string>? symbols, out ulong value)
    {
        value = 0;
        int shiftAt = term.IndexOf("<<", StringComparison.Ordinal);
        if (shiftAt < 0)
        {
            return TryParseOperand(term, raw, symbols, out value);
        }

        string? message = TryParseOperand(term[..shiftAt].Trim(), raw, symbols, out ulong left);
        if (message is not null)
        {
            return message;
        }

        message = TryParseOperand(term[(shiftAt + 2)..].Trim(), raw, symbols, out ulong shift);
        if (message is not null)
        {
            return message;
        }

        if (shift >= 64 || (left << (int)shift) >> (int)shift != left)
        {
            return "number " + TraceText.Quote(term) + " does not fit in 64 bits";
        }

        value = left << (int)shift;
        return null;
    }

    private static string? TryParseOperand(ReadOnlySpan<char> operand, ReadOnlySpan<char> raw, List<string>? symbols, out ulong value)
    {
        value = 0;
        if (IntegerLiteral.LooksNumeric(operand))
        {
            IntegerStatus status = IntegerLiteral.Parse(operand, out value);
            return status == IntegerStatus.Ok ? null : IntegerLiteral.Describe(status, operand);
        }

        if (!TraceText.IsSymbol(operand))
        {
            return "invalid argument " + TraceText.Quote(raw);
        }

        if (!TraceSymbols.TryGet(operand, out value))
        {
            return "unknown symbol " + TraceText.Quote(operand);
        }

        symbols?.Add(operand.ToString());
        return null;
    }

    /// <summary>
    /// Removes strace's decorations around a value: inline comments (<c>0x7ffd5c3f1e28 /* 20 vars */</c>,
    /// <c>0x80 /* MAP_??? */</c>) and <c>-y</c> path annotations (<c>3&lt;/etc/ld.so.cache&gt;</c>),
    /// keeping the <c>&lt;&lt;</c> operator. Trims the result.
    /// </summary>
    [SuppressMessage("Performance", "CA1845", Justification = "Decorated values are rare; clarity first.")]
    private static string StripDecorations(ReadOnlySpan<char> raw)
    {
        var sb = new System.Text.StringBuilder(raw.Length);
        int i = 0;
        while (i < raw.Length)
        {
            char c = raw[i];
            if (c == '/' && i + 1 < raw.Length && raw[i + 1] == '*')
            {
                int close = raw[(i + 2)..].IndexOf("*/", StringComparison.Ordinal);
                if (close < 0)
                {
                    sb.Append(raw[i..]);
                    break;
                }

                i = i + 2 + close + 2;
            }
            else if (c == '<' && i + 1 < raw.Length && raw[i + 1] == '<')
            {
                sb.Append("<<");
                i += 2;
            }
            else if (c == '<')
            {
                int close = raw[(i + 1)..].IndexOf('>');
                if (close < 0)
                {
                    sb.Append(raw[i..]);
                    break;
                }

                i = i + 1 + close + 1;
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString().Trim();
    }
}
