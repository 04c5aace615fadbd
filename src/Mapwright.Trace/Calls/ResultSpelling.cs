namespace Mapwright.Trace.Calls;

/// <summary>How a call's result is printed.</summary>
public enum ResultSpelling
{
    /// <summary><c>= 0</c>, <c>= 3</c>, <c>= -1 ENOMEM (Cannot allocate memory)</c>.</summary>
    Decimal,

    /// <summary>An address: <c>= 0x7ffff7ff6000</c> (errors as for decimal).</summary>
    Hex,

    /// <summary>The access pseudo-calls: an FNV-1a hash <c>0x%016x</c>, <c>0</c>, or a signal name.</summary>
    Access,

    /// <summary><c>= ?</c>: the call does not return (exit, exit_group).</summary>
    NoReturn,

    /// <summary>No result: the view pseudo-calls print their text instead.</summary>
    None,
}
