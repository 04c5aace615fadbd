using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads a trace line by line: strips the PID prefix, skips strace's non-call lines, joins
/// <c>&lt;unfinished ...&gt;</c>/<c>&lt;... NAME resumed&gt;</c> pairs, and collects calls and diagnostics.
/// </summary>
internal sealed class TraceDocumentBuilder
{
    private const string UnfinishedMark = "<unfinished ...>";
    private const string DetachedMark = "<detached ...>";
    private const string ResumedPrefix = "<...";
    private const string ResumedMark = "resumed>";

    private readonly string _fileName;
    private readonly List<TraceCall> _calls = [];
    private readonly List<TraceDiagnostic> _errors = [];
    private readonly Dictionary<(int? Pid, string Name), PendingCall> _pending = [];
    private int _skipped;
    private bool _errorsOutOfOrder;

    public TraceDocumentBuilder(string fileName)
    {
        _fileName = fileName;
    }

    /// <summary>Reads the line <c>s[start, end)</c> (without its line break), numbered <paramref name="line"/>.</summary>
    public void AddLine(string s, int start, int end, int line)
    {
        int i = TraceText.SkipSpaces(s, start, end);
        end = TraceText.TrimEnd(s, i, end);
        if (i == end || s[i] == '#')
        {
            return;
        }

        int? pid = null;
        if (s[i] == '[' || char.IsAsciiDigit(s[i]))
        {
            if (!TryReadPid(s, ref i, end, out int value, out string? message))
            {
                AddError(line, message);
                return;
            }

            pid = value;
            i = TraceText.SkipSpaces(s, i, end);
            if (i == end)
            {
                AddError(line, "missing call after pid");
                return;
            }
        }

        if (IsStraceNote(s, i, end))
        {
            _skipped++;
        }
        else if (TraceText.StartsWith(s, i, end, ResumedPrefix))
        {
            Resume(s, i, end, line, pid);
        }
        else if (TraceText.EndsWith(s, i, end, UnfinishedMark))
        {
            Suspend(s, i, end - UnfinishedMark.Length, line, pid);
        }
        else if (TraceText.EndsWith(s, i, end, DetachedMark))
        {
            // strace let go of the process in the middle of the call: it never completes.
            _skipped++;
        }
        else
        {
            AddCall(s, i, end, pid, line, line, int.MaxValue);
        }
    }

    /// <summary>The document; unfinished calls never resumed count as skipped.</summary>
    public TraceDocument Build()
    {
        _skipped += _pending.Count;
        _pending.Clear();
        if (_errorsOutOfOrder)
        {
            // Stable: diagnostics of one line keep their order.
            var sorted = new List<TraceDiagnostic>(_errors.Count);
            sorted.AddRange(_errors.OrderBy(e => e.Line));
            _errors.Clear();
            _errors.AddRange(sorted);
        }

        return new TraceDocument(_calls, _skipped, _errors);
    }

    /// <summary><c>+++ exited with 0 +++</c>, <c>--- SIGSEGV {...} ---</c>, <c>strace: Process 7 attached</c>.</summary>
    private static bool IsStraceNote(string s, int i, int end) =>
        (TraceText.StartsWith(s, i, end, "+++") && TraceText.EndsWith(s, i, end, "+++") && end - i >= 6)
        || (TraceText.StartsWith(s, i, end, "---") && TraceText.EndsWith(s, i, end, "---") && end - i >= 6)
        || TraceText.StartsWith(s, i, end, "strace: ");

    /// <summary>strace <c>-f</c>'s <c>123 </c> (with <c>-o</c>) or <c>[pid   123] </c> (without).</summary>
    private static bool TryReadPid(string s, ref int i, int end, out int pid, [NotNullWhen(false)] out string? message)
    {
        pid = 0;
        message = null;
        int j = i;
        bool bracketed = s[j] == '[';
        if (bracketed)
        {
            if (!TraceText.StartsWith(s, j, end, "[pid"))
            {
                message = "not a call: " + TraceText.Quote(s.AsSpan(i, end - i));
                return false;
            }

            j = TraceText.SkipSpaces(s, j + 4, end);
        }

        int digits = j;
        while (j < end && char.IsAsciiDigit(s[j]))
        {
            j++;
        }

        int digitsEnd = j;
        if (bracketed)
        {
            int k = TraceText.SkipSpaces(s, j, end);
            if (digitsEnd == digits || k >= end || s[k] != ']')
            {
                message = "invalid pid prefix " + TraceText.Quote(s.AsSpan(i, Math.Min(k + 1, end) - i));
                return false;
            }

            j = k + 1;
        }
        else if (j < end && !char.IsWhiteSpace(s[j]))
        {
            // "123abc(...)", "0x10": not a PID followed by a call.
            message = "not a call: " + TraceText.Quote(s.AsSpan(i, end - i));
            return false;
        }

        ReadOnlySpan<char> number = s.AsSpan(digits, digitsEnd - digits);
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out pid))
        {
            message = "pid out of range " + TraceText.Quote(number);
            return false;
        }

        i = j;
        return true;
    }

    /// <summary>Keeps the first half of a call until its resumed line.</summary>
    private void Suspend(string s, int start, int headEnd, int line, int? pid)
    {
        headEnd = TraceText.TrimEnd(s, start, headEnd);
        int nameEnd = TraceText.ScanCallName(s, start, headEnd);
        if (nameEnd == start || nameEnd >= headEnd || s[nameEnd] != '(')
        {
            AddError(line, "not a call: " + TraceText.Quote(s.AsSpan(start, headEnd - start)));
            return;
        }

        (int? Pid, string Name) key = (pid, s.Substring(start, nameEnd - start));
        if (_pending.Remove(key))
        {
            // One thread runs one call at a time: the earlier half will never be resumed.
            _skipped++;
        }

        _pending[key] = new PendingCall(line, s.Substring(start, headEnd - start));
    }

    /// <summary>Joins <c>&lt;... NAME resumed&gt;REST</c> to its unfinished half.</summary>
    private void Resume(string s, int i, int end, int line, int? pid)
    {
        int nameStart = TraceText.SkipSpaces(s, i + ResumedPrefix.Length, end);
        int nameEnd = TraceText.ScanCallName(s, nameStart, end);
        int mark = TraceText.SkipSpaces(s, nameEnd, end);
        if (nameEnd == nameStart || !TraceText.StartsWith(s, mark, end, ResumedMark))
        {
            AddError(line, "malformed resumed line " + TraceText.Quote(s.AsSpan(i, end - i)));
            return;
        }

        (int? Pid, string Name) key = (pid, s.Substring(nameStart, nameEnd - nameStart));
        if (!_pending.Remove(key, out PendingCall? pending))
        {
            _skipped++;
            return;
        }

        int rest = TraceText.SkipSpaces(s, mark + ResumedMark.Length, end);
        if (TraceText.StartsWith(s, rest, end, UnfinishedMark))
        {
            // "<... mmap resumed> <unfinished ...>) = ?": the process died in the call, which never
            // completed; both lines are skipped.
            _skipped += 2;
            return;
        }

        // "mmap(NULL, 4096, PROT_READ" + ", MAP_PRIVATE, -1, 0) = 0x7f..." or "read(3," + "\"...\", 832) = 832".
        string head = pending.Head;
        bool space = head.EndsWith(',') && rest < end && s[rest] != ',' && s[rest] != ')';
        string joined = string.Concat(head, space ? " " : "", s.AsSpan(rest, end - rest));
        AddCall(joined, 0, joined.Length, pid, pending.Line, line, head.Length + (space ? 1 : 0));
    }

    /// <summary>Parses one call; an error past <paramref name="headLength"/> characters of a joined pair
    /// is reported on the resumed line.</summary>
    private void AddCall(string s, int start, int end, int? pid, int line, int resumedLine, int headLength)
    {
        if (CallParser.TryParse(s, start, end, out ParsedCall? call, out SyntaxError error))
        {
            _calls.Add(new TraceCall(_fileName, line, pid, call.Name, call.Args, call.Result, call.CallText));
            return;
        }

        AddError(error.Offset - start >= headLength ? resumedLine : line, error.Message);
    }

    private void AddError(int line, string message)
    {
        if (_errors.Count > 0 && _errors[^1].Line > line)
        {
            _errorsOutOfOrder = true;
        }

        _errors.Add(new TraceDiagnostic(_fileName, line, message));
    }
}
