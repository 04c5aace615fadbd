namespace Mapwright.Trace.Parsing;

/// <summary>The outcome of reading an integer literal.</summary>
internal enum IntegerStatus
{
    Ok,
    Invalid,
    Overflow,
}
