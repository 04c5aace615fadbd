namespace Mapwright.Trace.Parsing;

/// <summary>A malformed trace line, reported as <c>FILE:LINE: message</c>.</summary>
public sealed record TraceDiagnostic(string FileName, int Line, string Message)
{
    public override string ToString() => $"{FileName}:{Line}: {Message}";
}
