using Mapwright.Abi;

namespace Mapwright.Trace.Parsing;

/// <summary>The result written after <c>=</c> on a trace line.</summary>
/// <param name="Kind">The result's form.</param>
/// <param name="Value">The value for <see cref="TraceResultKind.Value"/> (a 64-bit hex value above
/// <see cref="long.MaxValue"/> is stored unchecked); -1 for <see cref="TraceResultKind.Error"/>; 0 otherwise.</param>
/// <param name="Errno">The errno of an <see cref="TraceResultKind.Error"/>; <see cref="Errno.None"/> otherwise.</param>
/// <param name="Signal">The signal name of a <see cref="TraceResultKind.Signal"/>; empty otherwise.</param>
/// <param name="Text">The result as written, without a trailing <c>&lt;...&gt;</c> timing or
/// parenthesised comment (an error keeps its parenthesised message).</param>
public sealed record TraceResult(TraceResultKind Kind, long Value, Errno Errno, string Signal, string Text);
