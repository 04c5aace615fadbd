using System.Runtime.CompilerServices;
using Mapwright.Abi;
using Mapwright.Trace.Calls;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// One call of a trace as the reader hands it to the replay engine: its line, PID, table row, arguments and
/// written result, read without copying the line. One instance is reused for every line of a trace, so nothing is
/// allocated per line on the common path; what a caller keeps must be copied out (<see cref="ToTraceCall"/>).
/// </summary>
/// <remarks>
/// The replay pipeline hands lines from the reading thread to the running one in a ring of these, so each is
/// compact: the arguments of a call (at most six) live inside the object, decoded strings and the PIDs in flight
/// in arrays made only when a line has them. A copy touches the line and its text and little else (measured: the
/// copy's cost was the first touch of five argument arrays and a list per line).
/// </remarks>
public sealed class CallLine
{
    private const int InlineArgs = 6;

    /// <summary>One argument: its value, kind and where it is written.</summary>
    private struct ArgSlot
    {
        public ulong Value;
        public int Start;
        public int End;
        public TraceArgKind Kind;
    }

    [InlineArray(InlineArgs)]
    private struct InlineSlots
    {
        private ArgSlot _first;
    }

    private InlineSlots _inline;

    /// <summary>Every argument, once a line of this instance has had more than <see cref="InlineArgs"/>.</summary>
    private ArgSlot[]? _overflow;

    /// <summary>Strings decoded by <see cref="ArgString"/>, by argument; null until one is.</summary>
    private string?[]? _argString;
    private bool _anyDecoded;

    private char[] _ownText = new char[256];

    /// <summary>The longest text a copied line keeps its buffer for.</summary>
    private const int MaxKeptText = 1 << 16;

    internal CallLine(string fileName)
    {
        FileName = fileName;
    }

    /// <summary>The trace's name, for diagnostics.</summary>
    public string FileName { get; }

    /// <summary>The 1-based line the call starts on (for a joined <c>&lt;unfinished ...&gt;</c>/<c>resumed</c>
    /// pair, the line of the unfinished half).</summary>
    public int Line { get; internal set; }

    /// <summary>The line the call's result is on: <see cref="Line"/>, or for a joined pair the resumed half's.</summary>
    public int EndLine { get; internal set; }

    /// <summary>The PIDs with a call in flight (printed <c>&lt;unfinished ...&gt;</c>, not yet resumed) when this
    /// call's result line was read, other than this call's own: calls that may have run before this one.</summary>
    public IReadOnlyList<int> InFlightPids => _anyInFlight ? _inFlight! : [];

    /// <summary>Made on the first line with a call in flight and kept; <see cref="_anyInFlight"/> says whether it
    /// holds this line's.</summary>
    private List<int>? _inFlight;
    private bool _anyInFlight;

    /// <summary>The PID prefix is strace's standard-error form <c>[pid N]</c> (not the <c>-o</c> form <c>N </c>).</summary>
    public bool PidBracketed { get; internal set; }

    /// <summary>The strace <c>-f</c> PID prefix, or null.</summary>
    public int? Pid { get; internal set; }

    /// <summary>The call's name.</summary>
    public string Name { get; internal set; } = "";

    /// <summary>The call's row in <see cref="SyscallTable"/>, or null for a call the table does not list.</summary>
    public SyscallRow? Row { get; internal set; }

    /// <summary>The number of arguments.</summary>
    public int ArgCount { get; internal set; }

    /// <summary><c>name(args...)</c> as written, without PID and result (for a joined pair, the two halves put
    /// together). Valid until the next line is read.</summary>
    public ReadOnlySpan<char> CallText => Text.AsSpan(CallStart, CallEnd - CallStart);

    /// <summary>Whether the line has a result after <c>=</c>.</summary>
    public bool HasResult { get; internal set; }

    public TraceResultKind ResultKind { get; internal set; }

    /// <summary>The result's value (<see cref="TraceResult.Value"/>).</summary>
    public long ResultValue { get; internal set; }

    public Errno ResultErrno { get; internal set; }

    /// <summary>The signal name of a <see cref="TraceResultKind.Signal"/> result.</summary>
    public string ResultSignal { get; internal set; } = "";

    /// <summary>The result as written, without trailers. Valid until the next line is read.</summary>
    public ReadOnlySpan<char> ResultText => Text.AsSpan(ResultStart, ResultEnd - ResultStart);

    internal char[] Text { get; set; } = [];

    internal int CallStart { get; set; }

    internal int CallEnd { get; set; }

    internal int ResultStart { get; set; }

    internal int ResultEnd { get; set; }

    /// <summary>The value of argument <paramref name="i"/>: the integer, the OR of a flags expression, -100 for
    /// <c>AT_FDCWD</c>, 0 otherwise.</summary>
    public ulong Arg(int i) => Slot(i).Value;

    public TraceArgKind ArgKind(int i) => Slot(i).Kind;

    /// <summary>Where argument <paramref name="i"/> starts and ends within <see cref="CallText"/>.</summary>
    public (int Start, int End) ArgRange(int i)
    {
        ref readonly ArgSlot a = ref Slot(i);
        return (a.Start - CallStart, a.End - CallStart);
    }

    /// <summary>Argument <paramref name="i"/> as written. Valid until the next line is read.</summary>
    public ReadOnlySpan<char> ArgText(int i)
    {
        ref readonly ArgSlot a = ref Slot(i);
        return Text.AsSpan(a.Start, a.End - a.Start);
    }

    /// <summary>Argument <paramref name="i"/>'s slot; <paramref name="i"/> must be below <see cref="ArgCount"/>.</summary>
    private ref ArgSlot Slot(int i)
    {
        if ((uint)i >= (uint)ArgCount)
        {
            ThrowNoSuchArg(i);
        }

        return ref _overflow is { } all ? ref all[i] : ref _inline[i];
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowNoSuchArg(int i) => throw new ArgumentOutOfRangeException(nameof(i), i, $"{Name} has {ArgCount} arguments");

    /// <summary>The decoded text of a string argument (decoded when first asked for: calls outside the model never
    /// pay for it).</summary>
    public string ArgString(int i)
    {
        if (Slot(i).Kind != TraceArgKind.String)
        {
            return "";
        }

        if (_anyDecoded && i < _argString!.Length && _argString[i] is { } known)
        {
            return known;
        }

        ReadOnlySpan<char> text = ArgText(i);
        int close = CStringLiteral.FindClosingQuote(text, 0, text.Length);
        string decoded = CStringLiteral.Decode(text[1..close]);
        if (!_anyDecoded)
        {
            // The first string of this line: what the array holds is an earlier line's.
            if (_argString is null || _argString.Length < ArgCount)
            {
                _argString = new string?[Math.Max(ArgCount, InlineArgs)];
            }
            else
            {
                Array.Clear(_argString);
            }
        }
        else if (_argString!.Length < ArgCount)
        {
            Array.Resize(ref _argString, ArgCount);
        }

        _argString[i] = decoded;
        _anyDecoded = true;
        return decoded;
    }

    /// <summary>
    /// True for the entry of a call that takes descriptors on entry, read from its <c>&lt;unfinished ...&gt;</c> line
    /// (<see cref="TraceReader.ReportEntries"/>): the replay reserves the descriptors there and the call itself
    /// comes later, joined to its resumed line. It has a name, PID, row and line, no arguments and no result,
    /// and is neither shown nor counted.
    /// </summary>
    internal bool IsEntry { get; private set; }

    /// <summary>Makes this the entry of <paramref name="row"/>'s call by <paramref name="pid"/> at
    /// <paramref name="line"/> (see <see cref="IsEntry"/>).</summary>
    internal void SetEntry(int? pid, SyscallRow row, int line)
    {
        Reset();
        IsEntry = true;
        Text = [];
        CallStart = CallEnd = 0;
        Pid = pid;
        Name = row.Name;
        Row = row;
        Line = EndLine = line;
    }

    internal void Reset()
    {
        IsEntry = false;
        _anyInFlight = false;
        _anyDecoded = false;
        PidBracketed = false;
        Pid = null;
        Row = null;
        ArgCount = 0;
        HasResult = false;
        ResultKind = TraceResultKind.Unknown;
        ResultValue = 0;
        ResultErrno = Errno.None;
        ResultSignal = "";
        ResultStart = ResultEnd = 0;
    }

    internal void AddArg(TraceArgKind kind, ulong value, int start, int end)
    {
        int n = ArgCount;
        EnsureSlots(n + 1, keep: n);
        ArgCount = n + 1;
        ref ArgSlot a = ref Slot(n);
        a.Value = value;
        a.Kind = kind;
        a.Start = start;
        a.End = end;
        if (_anyDecoded && n < _argString!.Length)
        {
            _argString[n] = null;
        }
    }

    /// <summary>Room for <paramref name="count"/> arguments, the first <paramref name="keep"/> kept.</summary>
    private void EnsureSlots(int count, int keep)
    {
        if (_overflow is { } all ? count <= all.Length : count <= InlineArgs)
        {
            return;
        }

        var grown = new ArgSlot[Math.Max(count, 2 * (_overflow?.Length ?? InlineArgs))];
        ReadOnlySpan<ArgSlot> old = _overflow is { } o ? o : _inline;
        old[..keep].CopyTo(grown);
        _overflow = grown;
    }

    /// <summary>
    /// Makes this line a copy of <paramref name="source"/> that no longer depends on the reader's buffer: the text
    /// of the call and its result is copied into this line's own buffer (reused from line to line), everything
    /// else as read. The replay pipeline hands such copies from the reading thread to the running one.
    /// </summary>
    internal void CopyFrom(CallLine source)
    {
        int lo = source.CallStart, hi = source.CallEnd;
        if (source.ResultEnd > source.ResultStart)
        {
            lo = Math.Min(lo, source.ResultStart);
            hi = Math.Max(hi, source.ResultEnd);
        }

        int n = hi - lo;
        char[] text;
        if (n > MaxKeptText)
        {
            // A long line (strace -s 65536 strings, -v environments) gets an array of its own that is not kept, so
            // that the pipeline's pooled lines stay small.
            text = new char[n];
        }
        else
        {
            if (_ownText.Length < n)
            {
                _ownText = new char[Math.Min(Math.Max(n, _ownText.Length * 2), MaxKeptText)];
            }

            text = _ownText;
        }

        Array.Copy(source.Text, lo, text, 0, n);
        Text = text;
        CallStart = source.CallStart - lo;
        CallEnd = source.CallEnd - lo;
        (ResultStart, ResultEnd) = source.ResultEnd > source.ResultStart ? (source.ResultStart - lo, source.ResultEnd - lo) : (0, 0);
        Line = source.Line;
        EndLine = source.EndLine;
        IsEntry = source.IsEntry;
        PidBracketed = source.PidBracketed;
        _anyInFlight = source._anyInFlight;
        if (_anyInFlight)
        {
            _inFlight ??= [];
            _inFlight.Clear();
            _inFlight.AddRange(source._inFlight!);
        }

        // Decoded strings are not copied: a string is decoded again from the copied text when asked for.
        _anyDecoded = false;
        Pid = source.Pid;
        Name = source.Name;
        Row = source.Row;
        HasResult = source.HasResult;
        ResultKind = source.ResultKind;
        ResultValue = source.ResultValue;
        ResultErrno = source.ResultErrno;
        ResultSignal = source.ResultSignal;
        // The arguments, their places rebased to the copied text.
        int count = source.ArgCount;
        EnsureSlots(count, keep: 0);
        ArgCount = count;
        for (int i = 0; i < count; i++)
        {
            ref ArgSlot to = ref Slot(i);
            to = source.Slot(i);
            to.Start -= lo;
            to.End -= lo;
        }
    }

    /// <summary>Records a PID with a call in flight (see <see cref="InFlightPids"/>).</summary>
    internal void AddInFlight(int pid)
    {
        _inFlight ??= [];
        if (!_anyInFlight)
        {
            _inFlight.Clear();
            _anyInFlight = true;
        }

        if (!_inFlight.Contains(pid))
        {
            _inFlight.Add(pid);
        }
    }

    /// <summary>A copy that outlives the line: the parsed form tests and tools keep.</summary>
    public TraceCall ToTraceCall()
    {
        var args = new TraceArg[ArgCount];
        for (int i = 0; i < ArgCount; i++)
        {
            var symbols = new List<string>();
            if (ArgKind(i) == TraceArgKind.Flags)
            {
                ArgParser.CollectSymbols(ArgText(i), symbols);
            }

            string text = ArgKind(i) == TraceArgKind.String ? ArgString(i) : ArgText(i).ToString();
            args[i] = new TraceArg(ArgKind(i), Arg(i), text, symbols);
        }

        TraceResult? result = HasResult
            ? new TraceResult(ResultKind, ResultValue, ResultErrno, ResultSignal, ResultText.ToString())
            : null;
        return new TraceCall(FileName, Line, Pid, Name, args, result, CallText.ToString());
    }
}
