namespace Mapwright.Trace.Parsing;

/// <summary>One argument of a trace call.</summary>
/// <param name="Kind">The argument's form.</param>
/// <param name="Value">The numeric value: the integer (a negative decimal as two's complement), the OR
/// of a flags expression, <c>unchecked((ulong)-100)</c> for <c>AT_FDCWD</c>, 0 otherwise.</param>
/// <param name="Text">The argument as written, except for <see cref="TraceArgKind.String"/> where it is
/// the decoded string.</param>
/// <param name="Symbols">The symbol names a flags expression used, in order; empty for other kinds.</param>
public sealed record TraceArg(TraceArgKind Kind, ulong Value, string Text, IReadOnlyList<string> Symbols);
