namespace Mapwright.Trace.Parsing;

/// <summary>The form of a call's result (trace-format.md, "RESULT forms").</summary>
public enum TraceResultKind
{
    /// <summary>An integer or hex value: <c>= 0x7ffff7ff6000</c>, <c>= 0</c>, <c>= -1</c>.</summary>
    Value,

    /// <summary><c>= -1 ENOMEM (Cannot allocate memory)</c>.</summary>
    Error,

    /// <summary><c>= ?</c>.</summary>
    Unknown,

    /// <summary><c>= SIGSEGV</c> or <c>= SIGBUS</c> (the access pseudo-calls).</summary>
    Signal,
}
