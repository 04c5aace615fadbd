using Mapwright.Abi;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads what follows <c>=</c>: <c>0x7ffff7ff6000</c>, <c>0</c>, <c>-1</c>,
/// <c>-1 ENOMEM (Cannot allocate memory)</c>, <c>?</c>, <c>SIGSEGV</c>, <c>SIGBUS</c>; then any number of
/// strace's trailers, a <c>&lt;0.000012&gt;</c> timing (or <c>-y</c> path) and a parenthesised comment
/// (<c>(flags O_RDWR)</c>). In an unknown call a result that does not read is kept as
/// <see cref="TraceResultKind.Unknown"/> with its text (strace prints errnos the project does not model).
/// </summary>
internal static class ResultParser
{
    /// <summary>Reads the result in <c>s[start, end)</c> (after the <c>=</c>) into <paramref name="call"/>.</summary>
    public static bool TryParse(ReadOnlySpan<char> s, int start, int end, bool strict, CallLine call, out SyntaxError error)
    {
        int i = TraceText.SkipSpaces(s, start, end);
        if (i >= end)
        {
            error = new SyntaxError("missing result after '='", start - 1);
            return false;
        }

        if (TryParseCore(s, i, end, call, out error))
        {
            return true;
        }

        if (strict)
        {
            return false;
        }

        call.HasResult = true;
        call.ResultKind = TraceResultKind.Unknown;
        call.ResultValue = 0;
        call.ResultErrno = Errno.None;
        call.ResultSignal = "";
        call.ResultStart = i;
        call.ResultEnd = end;
        error = default;
        return true;
    }

    private static bool TryParseCore(ReadOnlySpan<char> s, int i, int end, CallLine call, out SyntaxError error)
    {
        int coreStart = i;
        TraceResultKind kind = TraceResultKind.Value;
        long value = 0;
        Errno errno = Errno.None;
        string signal = "";
        if (s[i] == '?')
        {
            kind = TraceResultKind.Unknown;
            i++;

            // strace: "= ? ERESTARTSYS (To be restarted if SA_RESTART is set)" for an interrupted call.
            int j = TraceText.SkipSpaces(s, i, end);
            if (j < end && s[j] == 'E')
            {
                i = SkipParenthesised(s, TraceText.ScanSymbol(s, j, end), end);
            }
        }
        else if (char.IsAsciiLetterUpper(s[i]))
        {
            int k = TraceText.ScanSymbol(s, i, end);
            ReadOnlySpan<char> word = s[i..k];
            if (!word.SequenceEqual("SIGSEGV") && !word.SequenceEqual("SIGBUS"))
            {
                error = new SyntaxError("invalid result " + TraceText.Quote(s[i..end]), i);
                return false;
            }

            kind = TraceResultKind.Signal;
            signal = word.SequenceEqual("SIGSEGV") ? "SIGSEGV" : "SIGBUS";
            i = k;
        }
        else
        {
            int k = i;
            while (k < end && !char.IsWhiteSpace(s[k]) && s[k] != '(' && s[k] != '<')
            {
                k++;
            }

            ReadOnlySpan<char> token = s[i..k];
            IntegerStatus status = IntegerLiteral.Parse(token, out ulong bits);
            if (status != IntegerStatus.Ok)
            {
                error = new SyntaxError(
                    status == IntegerStatus.Overflow ? IntegerLiteral.Describe(status, token) : "invalid result " + TraceText.Quote(token),
                    i);
                return false;
            }

            value = unchecked((long)bits);
            i = k;

            int j = TraceText.SkipSpaces(s, i, end);
            if (j < end && char.IsAsciiLetterUpper(s[j]))
            {
                int e = TraceText.ScanSymbol(s, j, end);
                ReadOnlySpan<char> name = s[j..e];
                if (value != -1)
                {
                    error = new SyntaxError("unexpected text after result: " + TraceText.Quote(s[j..end]), j);
                    return false;
                }

                if (!ErrnoExtensions.TryParse(name, out errno))
                {
                    error = new SyntaxError("unknown errno " + TraceText.Quote(name), j);
                    return false;
                }

                kind = TraceResultKind.Error;
                i = SkipParenthesised(s, e, end);
                if (i < 0)
                {
                    error = new SyntaxError("unbalanced parenthesis", e);
                    return false;
                }
            }
        }

        if (i < 0)
        {
            error = new SyntaxError("unbalanced parenthesis", coreStart);
            return false;
        }

        int coreEnd = i;
        if (!TrySkipTrailers(s, i, end, out error))
        {
            return false;
        }

        call.HasResult = true;
        call.ResultKind = kind;
        call.ResultValue = value;
        call.ResultErrno = errno;
        call.ResultSignal = signal;
        call.ResultStart = coreStart;
        call.ResultEnd = coreEnd;
        return true;
    }

    /// <summary>Skips an optional parenthesised text after <paramref name="i"/> (an errno's message);
    /// -1 when it is not closed.</summary>
    private static int SkipParenthesised(ReadOnlySpan<char> s, int i, int end)
    {
        int j = TraceText.SkipSpaces(s, i, end);
        if (j >= end || s[j] != '(')
        {
            return i;
        }

        int close = TraceText.FindGroupEnd(s, j, end);
        return close < 0 ? -1 : close + 1;
    }

    /// <summary>Accepts any number of <c>&lt;...&gt;</c> (timing, <c>-y</c> path) and <c>(...)</c> trailers.</summary>
    private static bool TrySkipTrailers(ReadOnlySpan<char> s, int i, int end, out SyntaxError error)
    {
        error = default;
        while (true)
        {
            int j = TraceText.SkipSpaces(s, i, end);
            if (j >= end)
            {
                return true;
            }

            int close = s[j] switch
            {
                '(' => TraceText.FindGroupEnd(s, j, end),
                '<' => IndexOf(s, '>', j + 1, end),
                _ => -2,
            };
            if (close == -1)
            {
                error = new SyntaxError(s[j] == '(' ? "unbalanced parenthesis" : "unexpected text after result: " + TraceText.Quote(s[j..end]), j);
                return false;
            }

            if (close == -2)
            {
                error = new SyntaxError("unexpected text after result: " + TraceText.Quote(s[j..end]), j);
                return false;
            }

            i = close + 1;
        }
    }

    private static int IndexOf(ReadOnlySpan<char> s, char c, int from, int end)
    {
        int k = s[from..end].IndexOf(c);
        return k < 0 ? -1 : from + k;
    }
}
