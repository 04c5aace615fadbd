namespace Mapwright.Trace.Parsing;

/// <summary>The lexical form of one argument of a trace call (trace-format.md, "ARG forms").</summary>
/// <remarks>The member names are the trace language's own words for the forms, hence CA1720.</remarks>
#pragma warning disable CA1720 // Identifier contains type name
public enum TraceArgKind
{
    /// <summary>A decimal, <c>0x</c> hex or leading-<c>0</c> octal integer, optionally negative (decimal only).</summary>
    Integer,

    /// <summary><c>NULL</c>.</summary>
    Null,

    /// <summary>A <c>|</c>-joined expression of symbols and numbers, or a lone symbol.</summary>
    Flags,

    /// <summary>A C string literal; <see cref="TraceArg.Text"/> is the decoded string.</summary>
    String,

    /// <summary>A bracketed structure (<c>[...]</c>, <c>{...}</c>), or, in a call the parser does not
    /// know, any argument it cannot read; <see cref="TraceArg.Text"/> is the raw text.</summary>
    Opaque,

    /// <summary><c>AT_FDCWD</c> (-100).</summary>
    AtFdcwd,
}
#pragma warning restore CA1720
