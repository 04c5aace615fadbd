namespace Mapwright.Trace.Parsing;

/// <summary>One call of a trace.</summary>
/// <param name="FileName">The trace's file name, for diagnostics.</param>
/// <param name="Line">The 1-based line the call starts on (for a joined
/// <c>&lt;unfinished ...&gt;</c>/<c>resumed</c> pair, the line of the unfinished part).</param>
/// <param name="Pid">The strace <c>-f</c> PID prefix, or null.</param>
/// <param name="Name">The call name.</param>
/// <param name="Args">The arguments.</param>
/// <param name="Result">The result written after <c>=</c>, or null when the line has none.</param>
/// <param name="CallText"><c>name(args...)</c> as written, without PID and result (for a joined pair,
/// the two parts put together).</param>
public sealed record TraceCall(
    string FileName,
    int Line,
    int? Pid,
    string Name,
    IReadOnlyList<TraceArg> Args,
    TraceResult? Result,
    string CallText);
