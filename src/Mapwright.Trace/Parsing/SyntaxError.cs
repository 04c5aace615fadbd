namespace Mapwright.Trace.Parsing;

/// <summary>Why a line is malformed, and where: <paramref name="Offset"/> is an index into the text
/// being parsed, so that a joined unfinished/resumed pair can report the line the fault is on.</summary>
internal readonly record struct SyntaxError(string Message, int Offset);
