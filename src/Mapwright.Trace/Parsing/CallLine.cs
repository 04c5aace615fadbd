using Mapwright.Abi;
using Mapwright.Trace.Calls;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// One call of a trace as the reader hands it to the replay engine: its line, PID, table row, arguments and
/// written result, read without copying the line. One instance is reused for every line of a trace, so nothing is
/// allocated per line on the common path; what a caller keeps must be copied out (<see cref="ToTraceCall"/>).
/// </summary>
public sealed class CallLine
{
    private ulong[] _argValue = new ulong[8];
    private TraceArgKind[] _argKind = new TraceArgKind[8];
    private int[] _argStart = new int[8];
    private int[] _argEnd = new int[8];
    private string?[] _argString = new string?[8];
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
    public IReadOnlyList<int> InFlightPids => _inFlight;

    private readonly List<int> _inFlight = [];

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
    public ulong Arg(int i) => _argValue[i];

    public TraceArgKind ArgKind(int i) => _argKind[i];

    /// <summary>Where argument <paramref name="i"/> starts and ends within <see cref="CallText"/>.</summary>
    public (int Start, int End) ArgRange(int i) => (_argStart[i] - CallStart, _argEnd[i] - CallStart);

    /// <summary>Argument <paramref name="i"/> as written. Valid until the next line is read.</summary>
    public ReadOnlySpan<char> ArgText(int i) => Text.AsSpan(_argStart[i], _argEnd[i] - _argStart[i]);

    /// <summary>The decoded text of a string argument (decoded when first asked for: calls outside the model never
    /// pay for it).</summary>
    public string ArgString(int i)
    {
        if (_argString[i] is { } decoded)
        {
            return decoded;
        }

        if (_argKind[i] != TraceArgKind.String)
        {
            return "";
        }

        ReadOnlySpan<char> text = ArgText(i);
        int close = CStringLiteral.FindClosingQuote(text, 0, text.Length);
        decoded = CStringLiteral.Decode(text[1..close]);
        _argString[i] = decoded;
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
        _inFlight.Clear();
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
        if (n == _argValue.Length)
        {
            Array.Resize(ref _argValue, n * 2);
            Array.Resize(ref _argKind, n * 2);
            Array.Resize(ref _argStart, n * 2);
            Array.Resize(ref _argEnd, n * 2);
            Array.Resize(ref _argString, n * 2);
        }

        _argValue[n] = value;
        _argKind[n] = kind;
        _argStart[n] = start;
        _argEnd[n] = end;
        _argString[n] = null;
        ArgCount = n + 1;
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
        _inFlight.Clear();
        _inFlight.AddRange(source._inFlight);
        Pid = source.Pid;
        Name = source.Name;
        Row = source.Row;
        HasResult = source.HasResult;
        ResultKind = source.ResultKind;
        ResultValue = source.ResultValue;
        ResultErrno = source.ResultErrno;
        ResultSignal = source.ResultSignal;
        // The arguments in bulk: the spans moved rebased to the copied text.
        int count = source.ArgCount;
        if (_argValue.Length < count)
        {
            int size = Math.Max(count, _argValue.Length * 2);
            _argValue = new ulong[size];
            _argKind = new TraceArgKind[size];
            _argStart = new int[size];
            _argEnd = new int[size];
            _argString = new string?[size];
        }

        source._argValue.AsSpan(0, count).CopyTo(_argValue);
        source._argKind.AsSpan(0, count).CopyTo(_argKind);
        source._argString.AsSpan(0, count).CopyTo(_argString);
        ReadOnlySpan<int> starts = source._argStart.AsSpan(0, count);
        ReadOnlySpan<int> ends = source._argEnd.AsSpan(0, count);
        for (int i = 0; i < count; i++)
        {
            _argStart[i] = starts[i] - lo;
            _argEnd[i] = ends[i] - lo;
        }

        ArgCount = count;
    }

    /// <summary>Records a PID with a call in flight (see <see cref="InFlightPids"/>).</summary>
    internal void AddInFlight(int pid)
    {
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
            if (_argKind[i] == TraceArgKind.Flags)
            {
                ArgParser.CollectSymbols(ArgText(i), symbols);
            }

            string text = _argKind[i] == TraceArgKind.String ? ArgString(i) : ArgText(i).ToString();
            args[i] = new TraceArg(_argKind[i], _argValue[i], text, symbols);
        }

        TraceResult? result = HasResult
            ? new TraceResult(ResultKind, ResultValue, ResultErrno, ResultSignal, ResultText.ToString())
            : null;
        return new TraceCall(FileName, Line, Pid, Name, args, result, CallText.ToString());
    }
}
