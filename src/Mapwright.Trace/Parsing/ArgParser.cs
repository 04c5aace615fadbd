using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads one argument of a call, already cut out by <see cref="CallParser"/> (balanced, trimmed,
/// non-empty). In a known call every argument must be well formed; in an unknown call (strace's
/// <c>fstat</c>, <c>rt_sigaction</c>, ...) an argument that is not is kept as
/// <see cref="TraceArgKind.Opaque"/>, since the runner skips those calls anyway.
/// </summary>
internal static class ArgParser
{
    private const string Ellipsis = "...";

    public static bool TryParse(string s, int start, int end, bool strict, [NotNullWhen(true)] out TraceArg? arg, out SyntaxError error)
    {
        string raw = s.Substring(start, end - start);
        error = default;
        char first = s[start];
        if (first is '[' or '{')
        {
            arg = Opaque(raw);
            return true;
        }

        string? message = first == '"'
            ? TryParseString(s, start, end, out arg)
            : TryParseValue(raw, out arg);
        if (message is null && arg is not null)
        {
            return true;
        }

        if (!strict)
        {
            arg = Opaque(raw);
            return true;
        }

        arg = null;
        error = new SyntaxError(message ?? "invalid argument " + TraceText.Quote(raw), start);
        return false;
    }

    private static TraceArg Opaque(string raw) => new(TraceArgKind.Opaque, 0, raw, []);

    /// <summary>A string literal, optionally followed by strace's <c>...</c> truncation mark.</summary>
    private static string? TryParseString(string s, int start, int end, out TraceArg? arg)
    {
        arg = null;
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

        string rest = StripDecorations(s.Substring(after, end - after));
        if (rest.Length != 0)
        {
            return "unexpected text after string: " + TraceText.Quote(rest);
        }

        arg = new TraceArg(TraceArgKind.String, 0, CStringLiteral.Decode(s.AsSpan(start + 1, close - start - 1)), []);
        return null;
    }

    /// <summary><c>NULL</c>, <c>AT_FDCWD</c>, an integer or a flags expression; null on success,
    /// else the diagnostic.</summary>
    private static string? TryParseValue(string raw, out TraceArg? arg)
    {
        arg = null;
        string core = StripDecorations(raw);
        switch (core)
        {
            case "NULL":
                arg = new TraceArg(TraceArgKind.Null, 0, raw, []);
                return null;
            case "AT_FDCWD":
                arg = new TraceArg(TraceArgKind.AtFdcwd, unchecked((ulong)-100), raw, []);
                return null;
            default:
                break;
        }

        if (core.Length == 0)
        {
            return "invalid argument " + TraceText.Quote(raw);
        }

        bool isExpression = core.Contains('|', StringComparison.Ordinal) || core.Contains("<<", StringComparison.Ordinal);
        if (!isExpression && IntegerLiteral.LooksNumeric(core))
        {
            IntegerStatus status = IntegerLiteral.Parse(core, out ulong number);
            if (status != IntegerStatus.Ok)
            {
                return IntegerLiteral.Describe(status, core);
            }

            arg = new TraceArg(TraceArgKind.Integer, number, raw, []);
            return null;
        }

        var symbols = new List<string>();
        ulong value = 0;
        foreach (string term in core.Split('|'))
        {
            string? message = TryParseTerm(term.Trim(), raw, symbols, out ulong termValue);
            if (message is not null)
            {
                return message;
            }

            value |= termValue;
        }

        arg = new TraceArg(TraceArgKind.Flags, value, raw, symbols);
        return null;
    }

    /// <summary>One term of a flags expression: a symbol, a number, or strace's <c>21&lt;&lt;MAP_HUGE_SHIFT</c>.</summary>
    private static string? TryParseTerm(string term, string raw, List<string> symbols, out ulong value)
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

    private static string? TryParseOperand(string operand, string raw, List<string> symbols, out ulong value)
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

        symbols.Add(operand);
        return null;
    }

    /// <summary>
    /// Removes strace's decorations around a value: inline comments (<c>0x7ffd5c3f1e28 /* 20 vars */</c>,
    /// <c>0x80 /* MAP_??? */</c>) and <c>-y</c> path annotations (<c>3&lt;/etc/ld.so.cache&gt;</c>),
    /// keeping the <c>&lt;&lt;</c> operator. Trims the result.
    /// </summary>
    private static string StripDecorations(string raw)
    {
        if (raw.IndexOf('/', StringComparison.Ordinal) < 0 && raw.IndexOf('<', StringComparison.Ordinal) < 0)
        {
            return raw.Trim();
        }

        var sb = new StringBuilder(raw.Length);
        int i = 0;
        while (i < raw.Length)
        {
            char c = raw[i];
            if (c == '/' && i + 1 < raw.Length && raw[i + 1] == '*')
            {
                int close = raw.IndexOf("*/", i + 2, StringComparison.Ordinal);
                if (close < 0)
                {
                    sb.Append(raw, i, raw.Length - i);
                    break;
                }

                i = close + 2;
            }
            else if (c == '<' && i + 1 < raw.Length && raw[i + 1] == '<')
            {
                sb.Append("<<");
                i += 2;
            }
            else if (c == '<')
            {
                int close = raw.IndexOf('>', i + 1);
                if (close < 0)
                {
                    sb.Append(raw, i, raw.Length - i);
                    break;
                }

                i = close + 1;
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
