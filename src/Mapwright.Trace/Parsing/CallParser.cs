using System.Collections.Concurrent;
using System.Globalization;
using Mapwright.FailPoints;
using Mapwright.Trace.Calls;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads <c>NAME(ARG, ...)[ = RESULT]</c> into a <see cref="CallLine"/>. The argument list is cut at top-level
/// commas, skipping string literals, <c>/* comments */</c> and nested <c>()</c>, <c>[]</c>, <c>{}</c>, so any
/// balanced strace text splits correctly; each piece is then read by <see cref="ArgParser"/> as the call's row in
/// <see cref="SyscallTable"/> asks (a number, a string, or anything), and the whole is checked against the row:
/// the argument count, and for failpoint the failure point's name.
/// </summary>
internal static class CallParser
{
    /// <summary>Names of calls outside the table, kept so that a long log does not allocate one per line.</summary>
    private static readonly ConcurrentDictionary<string, string> s_otherNames = new(StringComparer.Ordinal);

    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> s_otherNamesBySpan =
        s_otherNames.GetAlternateLookup<ReadOnlySpan<char>>();

    private const int MaxOtherNames = 4096;

    /// <summary>The ASCII characters that matter while cutting an argument list: <c>" / ( ) , [ ] { }</c>.</summary>
    private static ReadOnlySpan<bool> IsArgSyntax =>
    [
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, true, false, false, false, false, false, true, true, false, false, true, false, false, true,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, false, false, false, false, false, false, false, false, false, true, false, true, false, false,
        false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false,
        false, false, false, false, false, false, false, false, false, false, false, true, false, true, false, false,
    ];

    /// <summary>Parses <c>s[start, end)</c> into <paramref name="call"/> (whose text buffer is <paramref name="s"/>).</summary>
    public static bool TryParse(ReadOnlySpan<char> s, int start, int end, CallLine call, out SyntaxError error)
    {
        int nameEnd = TraceText.ScanCallName(s, start, end);
        if (nameEnd == start || nameEnd >= end || s[nameEnd] != '(')
        {
            error = new SyntaxError("not a call: " + TraceText.Quote(s[start..end]), start);
            return false;
        }

        ReadOnlySpan<char> name = s[start..nameEnd];
        SyscallRow? row = SyscallTable.TryGet(name, out SyscallRow r) ? r : null;
        call.Row = row;
        call.Name = row?.Name ?? InternOtherName(name);
        call.ArgCount = 0;
        bool modelled = row is { IsModelled: true };
        if (!TryReadArgs(s, nameEnd + 1, end, call, row, out int close, out error))
        {
            return false;
        }

        if (modelled && (call.ArgCount < row!.MinArgs || call.ArgCount > row.MaxArgs))
        {
            error = new SyntaxError(ArityMessage(row.Name, row.MinArgs, row.MaxArgs, call.ArgCount), close);
            return false;
        }

        int i = TraceText.SkipSpaces(s, close + 1, end);
        call.HasResult = false;
        if (i < end)
        {
            if (s[i] == '=')
            {
                if (!ResultParser.TryParse(s, i + 1, end, strict: row is { LooseResult: false }, call, out error))
                {
                    return false;
                }
            }
            else
            {
                error = new SyntaxError(
                    s[i] is ')' or ']' or '}'
                        ? (s[i] == ')' ? "unbalanced parenthesis" : "unbalanced bracket")
                        : "unexpected text after call: " + TraceText.Quote(s[i..end]),
                    i);
                return false;
            }
        }

        call.CallStart = start;
        call.CallEnd = close + 1;
        if (row is not null && row.Category == CallCategory.Control && !TryCheckFailpoint(call, start, out error))
        {
            return false;
        }

        error = default;
        return true;
    }

    private static string InternOtherName(ReadOnlySpan<char> name)
    {
        if (s_otherNamesBySpan.TryGetValue(name, out string? known))
        {
            return known;
        }

        string s = name.ToString();
        if (s_otherNames.Count < MaxOtherNames)
        {
            s_otherNames.TryAdd(s, s);
        }

        return s;
    }

    /// <summary>failpoint("NAME", N): a known failure point and a hit number from 1.</summary>
    private static bool TryCheckFailpoint(CallLine call, int start, out SyntaxError error)
    {
        error = default;
        if (!FailPointSet.IsKnown(call.ArgString(0)))
        {
            error = new SyntaxError($"unknown failure point '{call.ArgString(0)}' (known: {string.Join(", ", FailPointSet.KnownPoints)})", start);
            return false;
        }

        if (call.ArgKind(1) != TraceArgKind.Integer || call.Arg(1) == 0 || call.Arg(1) > int.MaxValue)
        {
            error = new SyntaxError("failpoint expects a hit number from 1", start);
            return false;
        }

        return true;
    }

    private static string ArityMessage(string name, int min, int max, int count)
    {
        string expected = min == max
            ? min.ToString(CultureInfo.InvariantCulture) + (min == 1 ? " argument" : " arguments")
            : $"{min} or {max} arguments";
        return $"{name} expects {expected}, got {count}";
    }

    /// <summary>
    /// Cuts the argument list that starts after the <c>(</c> at <paramref name="open"/> - 1 at top-level commas,
    /// up to the matching <c>)</c> (returned in <paramref name="close"/>), and reads each piece.
    /// </summary>
    private static bool TryReadArgs(ReadOnlySpan<char> s, int open, int end, CallLine call, SyscallRow? row, out int close, out SyntaxError error)
    {
        close = -1;
        var stack = new BracketStack();
        int pieceStart = open;
        int pieces = 0;
        for (int i = open; i < end; i++)
        {
            char c = s[i];
            if (c >= 128 || !IsArgSyntax[c])
            {
                continue;
            }

            switch (c)
            {
                case '"':
                    int quote = CStringLiteral.FindClosingQuote(s, i, end);
                    if (quote < 0)
                    {
                        error = new SyntaxError("unbalanced quote", i);
                        return false;
                    }

                    i = quote;
                    break;
                case '/' when i + 1 < end && s[i + 1] == '*':
                    int commentEnd = s[(i + 2)..end].IndexOf("*/", StringComparison.Ordinal);
                    if (commentEnd < 0)
                    {
                        error = new SyntaxError("unterminated comment", i);
                        return false;
                    }

                    i = i + 2 + commentEnd + 1;
                    break;
                case '(' or '[' or '{':
                    stack.Push(c);
                    break;
                case ')' or ']' or '}':
                    if (stack.Count == 0)
                    {
                        if (c == ')')
                        {
                            close = i;
                            return TryReadArg(s, pieceStart, i, pieces, lastAndOnly: pieces == 0, call, row, out error);
                        }

                        error = new SyntaxError("unbalanced bracket", i);
                        return false;
                    }

                    char opener = stack.Pop();
                    if (opener != TraceText.Opener(c))
                    {
                        error = new SyntaxError(opener == '(' || c == ')' ? "unbalanced parenthesis" : "unbalanced bracket", i);
                        return false;
                    }

                    break;
                case ',' when stack.Count == 0:
                    if (!TryReadArg(s, pieceStart, i, pieces, lastAndOnly: false, call, row, out error))
                    {
                        return false;
                    }

                    pieces++;
                    pieceStart = i + 1;
                    break;
                default:
                    break;
            }
        }

        // The line ended first: report it at the end, where the closer is missing.
        bool bracket = stack.Count > 0 && stack.Peek() != '(';
        error = new SyntaxError(bracket ? "unbalanced bracket" : "unbalanced parenthesis", end);
        return false;
    }

    /// <summary>Reads piece <paramref name="index"/> of the argument list; an empty sole piece is <c>name()</c>.</summary>
    private static bool TryReadArg(ReadOnlySpan<char> s, int pieceStart, int pieceEnd, int index, bool lastAndOnly, CallLine call, SyscallRow? row, out SyntaxError error)
    {
        int argStart = TraceText.SkipSpaces(s, pieceStart, pieceEnd);
        int argEnd = TraceText.TrimEnd(s, argStart, pieceEnd);
        if (argStart == argEnd)
        {
            if (lastAndOnly)
            {
                error = default;
                return true; // name() or name( ): no arguments.
            }

            error = new SyntaxError("empty argument " + (index + 1).ToString(CultureInfo.InvariantCulture), argStart);
            return false;
        }

        ArgForm form = row is { IsModelled: true } ? row.FormOf(index) : ArgForm.Any;
        if (!ArgParser.TryParse(s, argStart, argEnd, form != ArgForm.Any, out TraceArgKind kind, out ulong value, out error))
        {
            return false;
        }

        if (form == ArgForm.String && kind != TraceArgKind.String)
        {
            error = new SyntaxError($"argument {index + 1} of {row!.Name} must be a quoted string", argStart);
            return false;
        }

        if (form == ArgForm.Number && kind is TraceArgKind.String or TraceArgKind.Opaque)
        {
            error = new SyntaxError($"argument {index + 1} of {row!.Name} must be a number, NULL or flags, not '{s[argStart..argEnd]}'", argStart);
            return false;
        }

        call.AddArg(kind, value, argStart, argEnd);
        return true;
    }
}
