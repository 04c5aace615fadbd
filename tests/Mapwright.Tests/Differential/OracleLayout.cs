using System.Globalization;

namespace Mapwright.Tests.Differential;

/// <summary>The oracle's own layout: where the random traces' region ends (its lowest special mapping above
/// the heap, [vvar]) and where its heap starts.</summary>
internal static class OracleLayout
{
    private static readonly Lazy<(ulong Top, ulong Brk)> s_layout = new(Probe);

    public static ulong RegionTop => s_layout.Value.Top;

    public static ulong BrkStart => s_layout.Value.Brk;

    private static (ulong, ulong) Probe()
    {
        OracleRun run = KernelOracle.Run(string.Empty);
        ulong top = 0;
        foreach (string line in run.InitialMaps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            ulong start = ulong.Parse(line.AsSpan(0, line.IndexOf('-', StringComparison.Ordinal)), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (start > 0x7f0000000000UL && top == 0)
            {
                top = start;
            }
        }

        return (top, run.Brk);
    }
}
