using System.Globalization;
using Mapwright.Abi;

namespace Mapwright.Trace.Parsing;

/// <summary>strace's spelling of values, for echoing calls.</summary>
public static class TraceFormat
{
    /// <summary><c>0x</c> followed by lower-case hex digits, without padding: <c>0x7ffff7ff6000</c>.</summary>
    public static string FormatHex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    /// <summary><c>0x7ffff7ff6000</c> (hex), <c>0</c> (decimal) or <c>-1 ENOMEM (Cannot allocate memory)</c>.</summary>
    public static string FormatResult(SysResult r, bool hex) => r.Format(hex);
}
