namespace Mapwright.Trace.Parsing;

/// <summary>A whole parsed trace.</summary>
/// <param name="Calls">Every call line, known or not, in the order their results became known (a joined
/// <c>&lt;unfinished ...&gt;</c>/<c>resumed</c> pair at the position of its resumed line).</param>
/// <param name="SkippedLines">strace's non-call lines ignored: <c>+++ ... +++</c>, <c>--- ... ---</c>,
/// <c>strace: ...</c> messages, and unfinished or resumed halves that found no partner. Blank lines,
/// comments and joined pairs do not count.</param>
/// <param name="Errors">Every malformed line, in line order; non-empty means the trace must not run.</param>
public sealed record TraceDocument(IReadOnlyList<TraceCall> Calls, int SkippedLines, IReadOnlyList<TraceDiagnostic> Errors);
