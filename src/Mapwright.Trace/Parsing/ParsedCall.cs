namespace Mapwright.Trace.Parsing;

/// <summary>A call read from its text, before the line and PID are attached.</summary>
internal sealed record ParsedCall(string Name, IReadOnlyList<TraceArg> Args, TraceResult? Result, string CallText);
