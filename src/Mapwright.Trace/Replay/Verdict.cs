namespace Mapwright.Trace.Replay;

/// <summary>How a call's produced result compares with the one written in the trace (with <c>--check</c>).</summary>
public enum Verdict
{
    /// <summary>Not compared: no check, no written result, <c>= ?</c>, or a call that is not compared.</summary>
    Unchecked,

    Matched,

    Diverged,
}
