namespace Mapwright.Trace.Replay;

/// <summary>What became of one call of a trace.</summary>
public enum OutcomeKind
{
    /// <summary>Run, with a result (a value, an errno, or for an access a hash or a signal).</summary>
    Executed,

    /// <summary>Run, and it does not return: exit, exit_group (<c>= ?</c>).</summary>
    NoReturn,

    /// <summary>A view pseudo-call (maps, smaps, status): its text is <see cref="Outcome.ViewText"/>.</summary>
    View,

    /// <summary>A control pseudo-call (failpoint): echoed with <c>= 0</c>, not counted.</summary>
    Control,

    /// <summary>Not run: a call outside the model, or a line of a PID that is not a live process
    /// (<see cref="Outcome.SkipReason"/> says which).</summary>
    Skipped,
}
