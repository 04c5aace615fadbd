using System.Text.RegularExpressions;

namespace Mapwright.Tests.Harness;

/// <summary>
/// The /proc/PID/maps line format. Linux: fs/proc/task_mmu.c show_vma_header_prefix() ("%08lx-%08lx %c%c%c%c
/// %08llx %02x:%02x %lu ") and show_map_vma(), which pads a name to column 72 with seq_pad() and then one space.
/// </summary>
internal static partial class MapsFormat
{
    /// <summary>The column the padding reaches before the space and the name: 25 + 6 * sizeof(void *) - 1.</summary>
    public const int NamePadColumn = 72;

    [GeneratedRegex(@"^(?<start>[0-9a-f]{8,16})-(?<end>[0-9a-f]{8,16}) [r-][w-][x-][ps] [0-9a-f]{8,16} [0-9a-f]{2,}:[0-9a-f]{2,} [0-9]+ (?<rest>.*)$",
        RegexOptions.CultureInvariant)]
    private static partial Regex LinePattern();

    /// <summary>Null if the line is a well-formed maps line; otherwise why it is not.</summary>
    public static string? Check(string line)
    {
        Match m = LinePattern().Match(line);
        if (!m.Success)
        {
            return $"does not match the maps format: '{line}'";
        }

        ulong start = Convert.ToUInt64(m.Groups["start"].Value, 16);
        ulong end = Convert.ToUInt64(m.Groups["end"].Value, 16);
        if (start >= end)
        {
            return $"empty or inverted range: '{line}'";
        }

        string rest = m.Groups["rest"].Value;
        if (rest.Length == 0)
        {
            return null;
        }

        // A name: spaces up to column 72, one more space, then the name (never starting with a space).
        int prefix = m.Groups["rest"].Index;
        int nameAt = Math.Max(prefix, NamePadColumn) + 1;
        if (line.Length <= nameAt || line[nameAt] == ' ' || line.AsSpan(prefix, nameAt - prefix).Trim(' ').Length != 0)
        {
            return $"name not padded to column {NamePadColumn}: '{line}'";
        }

        return null;
    }
}
