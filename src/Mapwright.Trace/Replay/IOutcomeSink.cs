namespace Mapwright.Trace.Replay;

/// <summary>Consumes the outcomes of a replay as they are produced: the echo, JSON and statistics writers, a
/// progress display, the differential harness.</summary>
public interface IOutcomeSink
{
    /// <summary>One call's outcome. The instance is reused for the next call.</summary>
    void OnOutcome(Outcome outcome);

    /// <summary>The end of the run, with its counts and the hook leak report.</summary>
    void OnEnd(ReplaySummary summary);
}
