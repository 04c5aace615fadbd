namespace Mapwright.Trace.Calls;

/// <summary>What a call accepts in one argument position.</summary>
public enum ArgForm
{
    /// <summary>An integer, <c>NULL</c>, <c>AT_FDCWD</c> or a flags expression of known symbols.</summary>
    Number,

    /// <summary>A quoted string (a path, a memfd name, a failure point).</summary>
    String,

    /// <summary>Anything strace prints (a structure, an out-array, a symbol the model does not know): read
    /// loosely, never an error.</summary>
    Any,
}
