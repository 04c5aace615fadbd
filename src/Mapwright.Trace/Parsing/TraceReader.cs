using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

using Mapwright.Trace.Calls;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// Reads a trace as a stream, one line at a time, in the project's trace language (trace-format.md): strips the PID
/// prefix, skips strace's non-call lines, joins <c>&lt;unfinished ...&gt;</c>/<c>&lt;... NAME resumed&gt;</c>
/// pairs, and hands out each call as a <see cref="CallLine"/> (reused: valid until the next <see cref="Read"/>) or
/// each malformed line as a <see cref="TraceDiagnostic"/>. Memory is one line buffer and the unfinished halves
/// waiting for their resumed lines, whatever the trace's length. Never throws on any text.
/// </summary>
public sealed class TraceReader : IDisposable
{
    /// <summary>The longest line read; a longer one is an error, not an unbounded buffer.</summary>
    public const int MaxLineLength = 16 << 20;

    private const string UnfinishedMark = "<unfinished ...>";
    private const string DetachedMark = "<detached ...>";
    private const string ResumedPrefix = "<...";
    private const string ResumedMark = "resumed>";

    private readonly TextReader _reader;
    private readonly bool _ownsReader;
    private readonly Stream? _stream;
    private readonly string _fileName;
    private readonly CallLine _call;
    private readonly Dictionary<(int? Pid, string Name), PendingCall> _pending = [];

    /// <summary>A line without a PID prefix was read: strace writing to standard error prefixes lines with
    /// <c>[pid N]</c> only once a second process exists, so the first process's early lines have none.</summary>
    private bool _sawUnprefixed;

    /// <summary>The first part of a line strace cut with a message, waiting for the rest on the next line.</summary>
    private string? _carry;

    /// <summary>The line being read is in <see cref="_buffer"/> and can be read again (not joined from two).</summary>
    private bool _rereadable = true;

    /// <summary>The current line's PID prefix is strace's standard-error form, <c>[pid N]</c>.</summary>
    private bool _bracketedPid;

    /// <summary>PIDs that have had a line; the first one is the traced program's.</summary>
    private readonly HashSet<int> _seenPids = [];

    /// <summary>Spawn calls handed out before their resumed line (their child spoke first): that line is then only
    /// the call's tail, already accounted for.</summary>
    private readonly HashSet<(int? Pid, string Name)> _earlySpawns = [];
    private char[] _buffer = new char[1 << 16];
    private int _start;
    private int _filled;
    private bool _eof;
    private bool _skippingLongLine;
    private int _line;

    /// <summary>Reads from a text reader (the caller disposes it).</summary>
    public TraceReader(TextReader reader, string fileName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(fileName);
        _reader = reader;
        _fileName = fileName;
        _call = new CallLine(fileName);
    }

    /// <summary>Reads UTF-8 (a byte order mark is skipped) from a stream, which the reader disposes.</summary>
    public TraceReader(Stream stream, string fileName)
        : this(new StreamReader(stream, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16), fileName)
    {
        _stream = stream;
        _ownsReader = true;
    }

    /// <summary>The call of the last <see cref="ReadStatus.Call"/>.</summary>
    public CallLine Call => _call;

    /// <summary>Hands out the entry of each call that takes descriptors on entry, at its <c>&lt;unfinished ...&gt;</c>
    /// line, as a call with <see cref="CallLine.IsEntry"/> (a replay reserves the descriptors there, as Linux numbers
    /// them at entry). Set by the replay's drivers; other readers see only whole calls.</summary>
    internal bool ReportEntries { get; set; }

    /// <summary>Called before each read of the underlying input, which may wait for input that has not arrived: the
    /// replay pipeline hands over the lines it holds, so that each runs as soon as it has arrived.</summary>
    internal Action? BeforeRead { get; set; }

    /// <summary>The diagnostic of the last <see cref="ReadStatus.Error"/>.</summary>
    public TraceDiagnostic? Error { get; private set; }

    /// <summary>strace's non-call lines skipped so far: <c>+++ ... +++</c>, <c>--- ... ---</c>, <c>strace: ...</c>
    /// messages, and unfinished or resumed halves that found no partner (those still waiting at the end included
    /// once <see cref="Read"/> has returned <see cref="ReadStatus.End"/>).</summary>
    public int SkippedLines { get; private set; }

    /// <summary>Lines read so far.</summary>
    public int LinesRead => _line;

    /// <summary>Bytes of the underlying stream consumed so far (for a progress display), or -1 when unknown.</summary>
    public long BytesRead
    {
        get
        {
            try
            {
                return _stream is { CanSeek: true } ? _stream.Position : -1;
            }
            catch (ObjectDisposedException)
            {
                return -1;
            }
        }
    }

    /// <summary>Reads up to the next call or malformed line.</summary>
    public ReadStatus Read()
    {
        while (true)
        {
            if (!NextLine(out int start, out int end))
            {
                SkippedLines += _pending.Count;
                _pending.Clear();
                return ReadStatus.End;
            }

            _line++;
            if (end < 0)
            {
                Error = new TraceDiagnostic(_fileName, _line, "line longer than " + MaxLineLength.ToString(CultureInfo.InvariantCulture) + " characters");
                return ReadStatus.Error;
            }

            ReadStatus? status;
            if (_carry is { } carried)
            {
                // The rest of a call line that strace cut with one of its own messages.
                _carry = null;
                char[] joined = string.Concat(carried, _buffer.AsSpan(start, end - start)).ToCharArray();
                _rereadable = false;
                status = AddLine(joined, 0, joined.Length);
                _rereadable = true;
            }
            else if (SpliceAt(_buffer, start, end) is int cut)
            {
                // "vfork(strace: Process 7 attached": the message ends this line; the call goes on on the next.
                _carry = new string(_buffer, start, cut - start);
                SkippedLines++;
                continue;
            }
            else
            {
                status = AddLine(_buffer, start, end);
            }

            if (status is { } s)
            {
                return s;
            }
        }
    }

    /// <summary>Where strace's <c>strace: Process N attached</c> (or <c>detached</c>) message starts inside a line
    /// it cut (strace writing to standard error prints it mid-line); null for a whole line.</summary>
    private static int? SpliceAt(char[] text, int start, int end)
    {
        ReadOnlySpan<char> line = text.AsSpan(start, end - start).TrimEnd();
        if (!line.EndsWith(" attached", StringComparison.Ordinal) && !line.EndsWith(" detached", StringComparison.Ordinal))
        {
            return null;
        }

        int at = line.LastIndexOf("strace: Process ", StringComparison.Ordinal);
        return at > 0 && !line[..at].IsWhiteSpace() ? start + at : null;
    }

    public void Dispose()
    {
        if (_ownsReader)
        {
            _reader.Dispose();
        }
    }

    /// <summary>The next line's range in <see cref="_buffer"/> without its line break; <paramref name="end"/> is
    /// -1 for a line too long (skipped to its end).</summary>
    private bool NextLine(out int start, out int end)
    {
        while (true)
        {
            int newline = _buffer.AsSpan(_start, _filled - _start).IndexOf('\n');
            if (newline >= 0)
            {
                start = _start;
                end = _start + newline;
                _start = end + 1;
                if (_skippingLongLine)
                {
                    _skippingLongLine = false;
                    end = -1;
                }

                return true;
            }

            if (_eof)
            {
                if (_start == _filled && !_skippingLongLine)
                {
                    start = end = 0;
                    return false;
                }

                // The last line has no line break.
                start = _start;
                end = _filled;
                _start = _filled;
                if (_skippingLongLine)
                {
                    _skippingLongLine = false;
                    end = -1;
                }

                return true;
            }

            Fill();
        }
    }

    /// <summary>Reads more text after the partial line at <see cref="_start"/>, growing the buffer for a long line.</summary>
    private void Fill()
    {
        int partial = _filled - _start;
        if (_skippingLongLine)
        {
            partial = 0;
            _start = _filled;
        }

        if (partial == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineLength)
            {
                _skippingLongLine = true;
                partial = 0;
            }
            else
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }
        }

        if (_start != 0 && partial != 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, partial);
        }

        _start = 0;
        _filled = partial;
        BeforeRead?.Invoke();
        int n = _reader.Read(_buffer, _filled, _buffer.Length - _filled);
        if (n == 0)
        {
            _eof = true;
        }

        _filled += n;
    }

    /// <summary>Reads the line <c>s[start, end)</c>; null for a line that holds no call (blank, comment, note,
    /// an unfinished half).</summary>
    private ReadStatus? AddLine(char[] text, int start, int end)
    {
        ReadOnlySpan<char> s = text;
        int i = TraceText.SkipSpaces(s, start, end);
        end = TraceText.TrimEnd(s, i, end);
        if (_line == 1 && i < end && s[i] == '\uFEFF')
        {
            // A byte order mark left by a reader that did not strip it.
            i = TraceText.SkipSpaces(s, i + 1, end);
        }

        if (i == end || s[i] == '#')
        {
            return null;
        }

        int? pid = null;
        _bracketedPid = s[i] == '[';
        if (s[i] == '[' || char.IsAsciiDigit(s[i]))
        {
            if (!TryReadPid(s, ref i, end, out int value, out string? message))
            {
                return Fail(_line, message);
            }

            pid = value;
            i = TraceText.SkipSpaces(s, i, end);
            if (i == end)
            {
                return Fail(_line, "missing call after pid");
            }

            if (_rereadable && _seenPids.Add(value) && (_seenPids.Count > 1 || _sawUnprefixed) && TakeSpawnOf(value) is { } spawn)
            {
                // A new process or thread speaks before the call that created it has returned in the log (its
                // parent is still inside fork, vfork, clone or clone3, printed <unfinished ...>): that call is
                // handed out now, with the child's PID as its result, and this line is read again next.
                _start = start;
                _line--;
                return spawn;
            }
        }

        if (pid is null)
        {
            _sawUnprefixed = true;
        }

        if (IsStraceNote(s, i, end))
        {
            if (pid is int leader)
            {
                TakeOverExecve(s, i, end, leader);
            }

            SkippedLines++;
            return null;
        }

        if (TraceText.StartsWith(s, i, end, ResumedPrefix))
        {
            return Resume(s, i, end, pid);
        }

        if (TraceText.EndsWith(s, i, end, UnfinishedMark))
        {
            return Suspend(s, i, end - UnfinishedMark.Length, pid);
        }

        if (TraceText.EndsWith(s, i, end, DetachedMark))
        {
            // strace let go of the process in the middle of the call: it never completes.
            SkippedLines++;
            return null;
        }

        return ParseCall(text, i, end, pid, _line, _line, int.MaxValue);
    }

    private ReadStatus Fail(int line, string message)
    {
        Error = new TraceDiagnostic(_fileName, line, message);
        return ReadStatus.Error;
    }

    /// <summary><c>+++ exited with 0 +++</c>, <c>--- SIGSEGV {...} ---</c>, <c>strace: Process 7 attached</c>.</summary>
    private static bool IsStraceNote(ReadOnlySpan<char> s, int i, int end) =>
        (TraceText.StartsWith(s, i, end, "+++") && TraceText.EndsWith(s, i, end, "+++") && end - i >= 6)
        || (TraceText.StartsWith(s, i, end, "---") && TraceText.EndsWith(s, i, end, "---") && end - i >= 6)
        || TraceText.StartsWith(s, i, end, "strace: ");

    /// <summary>strace <c>-f</c>'s <c>123 </c> (with <c>-o</c>) or <c>[pid   123] </c> (without).</summary>
    private static bool TryReadPid(ReadOnlySpan<char> s, ref int i, int end, out int pid, [NotNullWhen(false)] out string? message)
    {
        pid = 0;
        message = null;
        int j = i;
        bool bracketed = s[j] == '[';
        if (bracketed)
        {
            if (!TraceText.StartsWith(s, j, end, "[pid"))
            {
                message = "not a call: " + TraceText.Quote(s[i..end]);
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
                message = "invalid pid prefix " + TraceText.Quote(s[i..Math.Min(k + 1, end)]);
                return false;
            }

            j = k + 1;
        }
        else if (j < end && !char.IsWhiteSpace(s[j]))
        {
            // "123abc(...)", "0x10": not a PID followed by a call.
            message = "not a call: " + TraceText.Quote(s[i..end]);
            return false;
        }

        ReadOnlySpan<char> number = s[digits..digitsEnd];
        if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out pid))
        {
            message = "pid out of range " + TraceText.Quote(number);
            return false;
        }

        i = j;
        return true;
    }

    /// <summary>Keeps the first half of a call until its resumed line.</summary>
    private ReadStatus? Suspend(ReadOnlySpan<char> s, int start, int headEnd, int? pid)
    {
        headEnd = TraceText.TrimEnd(s, start, headEnd);
        int nameEnd = TraceText.ScanCallName(s, start, headEnd);
        if (nameEnd == start || nameEnd >= headEnd || s[nameEnd] != '(')
        {
            return Fail(_line, "not a call: " + TraceText.Quote(s[start..headEnd]));
        }

        (int? Pid, string Name) key = (pid, s[start..nameEnd].ToString());
        if (_pending.Remove(key))
        {
            // One thread runs one call at a time: the earlier half will never be resumed.
            SkippedLines++;
        }

        _pending[key] = new PendingCall(_line, s[start..headEnd].ToString());
        if (ReportEntries && SyscallTable.TryGet(s[start..nameEnd], out SyscallRow row) && row.DescriptorsAtEntry > 0)
        {
            _call.SetEntry(pid, row, _line);
            return ReadStatus.Call;
        }

        return null;
    }

    /// <summary>Joins <c>&lt;... NAME resumed&gt;REST</c> to its unfinished half.</summary>
    private ReadStatus? Resume(ReadOnlySpan<char> s, int i, int end, int? pid)
    {
        int nameStart = TraceText.SkipSpaces(s, i + ResumedPrefix.Length, end);
        int nameEnd = TraceText.ScanCallName(s, nameStart, end);
        int mark = TraceText.SkipSpaces(s, nameEnd, end);
        if (nameEnd == nameStart || !TraceText.StartsWith(s, mark, end, ResumedMark))
        {
            return Fail(_line, "malformed resumed line " + TraceText.Quote(s[i..end]));
        }

        (int? Pid, string Name) key = (pid, s[nameStart..nameEnd].ToString());
        if (!_pending.Remove(key, out PendingCall? pending))
        {
            // strace to standard error: the first process's call started without a prefix and resumes as
            // "[pid N] <... NAME resumed>" once a second process exists.
            (int? Pid, string Name) unprefixed = (null, key.Name);
            if (pid is not null && _sawUnprefixed && _pending.Remove(unprefixed, out pending))
            {
                // Joined below, as PID N's.
            }
            else
            {
                if (!_earlySpawns.Remove(key) && !(pid is not null && _earlySpawns.Remove(unprefixed)))
                {
                    SkippedLines++;
                }

                return null;
            }
        }

        int rest = TraceText.SkipSpaces(s, mark + ResumedMark.Length, end);
        if (TraceText.StartsWith(s, rest, end, UnfinishedMark))
        {
            // "<... mmap resumed> <unfinished ...>) = ?": the process died in the call, which never completed;
            // both lines are skipped.
            SkippedLines += 2;
            return null;
        }

        // "mmap(NULL, 4096, PROT_READ" + ", MAP_PRIVATE, -1, 0) = 0x7f..." or "read(3," + "\"...\", 832) = 832".
        string head = pending.Head;
        bool space = head.EndsWith(',') && rest < end && s[rest] != ',' && s[rest] != ')';
        char[] joined = string.Concat(head, space ? " " : "", s[rest..end]).ToCharArray();
        return ParseCall(joined, 0, joined.Length, pid, pending.Line, _line, head.Length + (space ? 1 : 0));
    }

    /// <summary>
    /// The spawn call (fork, vfork, clone, clone3) still unfinished in another process that created
    /// <paramref name="child"/>: the earliest one, completed as <c>HEAD) = CHILD</c>; null when none is pending.
    /// </summary>
    private ReadStatus? TakeSpawnOf(int child)
    {
        (int? Pid, string Name) best = default;
        PendingCall? found = null;
        foreach (KeyValuePair<(int? Pid, string Name), PendingCall> entry in _pending)
        {
            if (entry.Key.Name is "fork" or "vfork" or "clone" or "clone3" && entry.Key.Pid != child
                && (found is null || entry.Value.Line < found.Line))
            {
                best = entry.Key;
                found = entry.Value;
            }
        }

        if (found is null)
        {
            return null;
        }

        _pending.Remove(best);
        _earlySpawns.Add(best);
        // "clone(child_stack=NULL, flags=...|SIGCHLD" or, cut after a comma, "...SIGCHLD,": closed as it stands.
        string head = found.Head.TrimEnd().TrimEnd(',');
        char[] text = string.Concat(head, ") = ", child.ToString(CultureInfo.InvariantCulture)).ToCharArray();

        return ParseCall(text, 0, text.Length, best.Pid, found.Line, found.Line, text.Length);
    }

    /// <summary>
    /// <c>L +++ superseded by execve in pid N +++</c>: thread N of L's thread group called execve, every other
    /// thread is gone, and the call returns in the leader, as <c>L &lt;... execve resumed&gt;</c>. The unfinished half
    /// N printed becomes the leader's. Linux: fs/exec.c de_thread().
    /// </summary>
    private void TakeOverExecve(ReadOnlySpan<char> s, int i, int end, int leader)
    {
        const string Superseded = "+++ superseded by execve in pid ";
        if (!TraceText.StartsWith(s, i, end, Superseded))
        {
            return;
        }

        int digits = i + Superseded.Length;
        int j = digits;
        while (j < end && char.IsAsciiDigit(s[j]))
        {
            j++;
        }

        if (!int.TryParse(s[digits..j], NumberStyles.None, CultureInfo.InvariantCulture, out int thread))
        {
            return;
        }

        foreach (string name in (ReadOnlySpan<string>)["execve", "execveat"])
        {
            if (_pending.Remove((thread, name), out PendingCall? half))
            {
                _pending[(leader, name)] = half;
            }
        }
    }

    /// <summary>Parses one call; an error past <paramref name="headLength"/> characters of a joined pair is reported
    /// on the resumed line.</summary>
    private ReadStatus ParseCall(char[] text, int start, int end, int? pid, int line, int resumedLine, int headLength)
    {
        _call.Reset();
        _call.Text = text;
        if (CallParser.TryParse(text, start, end, _call, out SyntaxError error))
        {
            _call.Line = line;
            _call.EndLine = resumedLine;
            _call.Pid = pid;
            _call.PidBracketed = _bracketedPid && pid is not null;
            if (_call.Name is "fork" or "vfork" or "clone" or "clone3" && _call.HasResult
                && _call.ResultKind == TraceResultKind.Value && _call.ResultValue is > 0 and <= int.MaxValue)
            {
                // The child exists: its first line is its own, not a sign of a spawn still in flight.
                _seenPids.Add((int)_call.ResultValue);
            }

            if (_pending.Count != 0)
            {
                foreach ((int? Pid, string Name) key in _pending.Keys)
                {
                    if (key.Pid is int other && other != pid)
                    {
                        _call.AddInFlight(other);
                    }
                }
            }

            return ReadStatus.Call;
        }

        return Fail(error.Offset - start >= headLength ? resumedLine : line, error.Message);
    }
}
