using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads <c>NAME(ARG, ...)[ = RESULT]</c>. The argument list is cut at top-level commas, skipping
/// string literals, <c>/* comments */</c> and nested <c>()</c>, <c>[]</c>, <c>{}</c>, so any balanced
/// strace text splits correctly; each piece is then read by <see cref="ArgParser"/>.
/// </summary>
internal static class CallParser
{
    public static bool TryParse(string s, int start, int end, [NotNullWhen(true)] out ParsedCall? call, out SyntaxError error)
    {
        call = null;
        int nameEnd = TraceText.ScanCallName(s, start, end);
        if (nameEnd == start || nameEnd >= end || s[nameEnd] != '(')
        {
            error = new SyntaxError("not a call: " + TraceText.Quote(s.AsSpan(start, end - start)), start);
            return false;
        }

        string name = s.Substring(start, nameEnd - start);
        var pieces = new List<(int Start, int End)>();
        if (!TryCutArgs(s, nameEnd + 1, end, pieces, out int close, out error))
        {
            return false;
        }

        bool known = TraceSymbols.TryGetArity(name, out int min, out int max);
        var args = new List<TraceArg>(pieces.Count);
        for (int k = 0; k < pieces.Count; k++)
        {
            int argStart = TraceText.SkipSpaces(s, pieces[k].Start, pieces[k].End);
            int argEnd = TraceText.TrimEnd(s, argStart, pieces[k].End);
            if (argStart == argEnd)
            {
                if (pieces.Count == 1)
                {
                    break; // name() or name( ): no arguments.
                }

                error = new SyntaxError("empty argument " + (k + 1).ToString(CultureInfo.InvariantCulture), argStart);
                return false;
            }

            if (!ArgParser.TryParse(s, argStart, argEnd, known, out TraceArg? arg, out error))
            {
                return false;
            }

            args.Add(arg);
        }

        if (known && (args.Count < min || args.Count > max))
        {
            error = new SyntaxError(ArityMessage(name, min, max, args.Count), close);
            return false;
        }

        TraceResult? result = null;
        int i = TraceText.SkipSpaces(s, close + 1, end);
        if (i < end)
        {
            if (s[i] == '=')
            {
                if (!ResultParser.TryParse(s, i + 1, end, known, out result, out error))
                {
                    return false;
                }
            }
            else
            {
                error = new SyntaxError(
                    s[i] is ')' or ']' or '}'
                        ? (s[i] == ')' ? "unbalanced parenthesis" : "unbalanced bracket")
                        : "unexpected text after call: " + TraceText.Quote(s.AsSpan(i, end - i)),
                    i);
                return false;
            }
        }

        call = new ParsedCall(name, args, result, s.Substring(start, close + 1 - start));
        error = default;
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
    /// Cuts the argument list that starts after the <c>(</c> at <paramref name="open"/> - 1 into pieces at
    /// top-level commas, up to the matching <c>)</c>, returned in <paramref name="close"/>.
    /// </summary>
    private static bool TryCutArgs(string s, int open, int end, List<(int Start, int End)> pieces, out int close, out SyntaxError error)
    {
        close = -1;
        var stack = new Stack<char>();
        int pieceStart = open;
        for (int i = open; i < end; i++)
        {
            char c = s[i];
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
                    int commentEnd = s.IndexOf("*/", i + 2, end - (i + 2), StringComparison.Ordinal);
                    if (commentEnd < 0)
                    {
                        error = new SyntaxError("unterminated comment", i);
                        return false;
                    }

                    i = commentEnd + 1;
                    break;
                case '(' or '[' or '{':
                    stack.Push(c);
                    break;
                case ')' or ']' or '}':
                    if (stack.Count == 0)
                    {
                        if (c == ')')
                        {
                            pieces.Add((pieceStart, i));
                            close = i;
                            error = default;
                            return true;
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
                    pieces.Add((pieceStart, i));
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
}
