namespace Mapwright.Trace.Parsing;

/// <summary>What <see cref="TraceReader.Read"/> found.</summary>
public enum ReadStatus
{
    /// <summary>A call: <see cref="TraceReader.Call"/>.</summary>
    Call,

    /// <summary>A malformed line: <see cref="TraceReader.Error"/>.</summary>
    Error,

    /// <summary>The end of the trace.</summary>
    End,
}
