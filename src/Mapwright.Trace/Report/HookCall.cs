using System.Globalization;

namespace Mapwright.Trace.Report;

/// <summary>One <c># hook NAME file=PATH start=0x... end=0x... locks=LOCKS -&gt; RESULT</c> line, as fields.</summary>
internal readonly record struct HookCall(string Name, string File, ulong Start, ulong End, string Locks, string Result)
{
    /// <summary>The fields of a hook line; null if it is not one.</summary>
    public static HookCall? Parse(string line)
    {
        const string Prefix = "# hook ";
        if (!line.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        int nameEnd = line.IndexOf(' ', Prefix.Length);
        int file = line.IndexOf(" file=", StringComparison.Ordinal);
        int start = line.LastIndexOf(" start=0x", StringComparison.Ordinal);
        int end = line.LastIndexOf(" end=0x", StringComparison.Ordinal);
        int locks = line.LastIndexOf(" locks=", StringComparison.Ordinal);
        int arrow = line.LastIndexOf(" -> ", StringComparison.Ordinal);
        if (nameEnd < 0 || file != nameEnd || start < file || end < start || locks < end || arrow < locks
            || !ulong.TryParse(line.AsSpan(start + 9, end - start - 9), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong s)
            || !ulong.TryParse(line.AsSpan(end + 7, locks - end - 7), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong e))
        {
            return null;
        }

        return new HookCall(
            line[Prefix.Length..nameEnd],
            line[(file + 6)..start],
            s,
            e,
            line[(locks + 7)..arrow],
            line[(arrow + 4)..]);
    }
}
