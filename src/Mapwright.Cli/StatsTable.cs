using System.Globalization;
using Mapwright.Trace.Replay;
using Spectre.Console;

namespace Mapwright.Cli;

/// <summary><c>--stats</c>: the run's statistics as tables (calls, skipped calls, each address space's peaks).</summary>
internal static class StatsTable
{
    public static string Render(ReplayStats stats)
    {
        var text = new StringWriter(CultureInfo.InvariantCulture);
        IAnsiConsole console = PlainConsole.Create(text, 100);

        var calls = new Table { Title = new TableTitle("calls") }.AddColumns("call", "count", "errors", "by errno or signal");
        calls.Columns[1].RightAligned();
        calls.Columns[2].RightAligned();
        foreach (ReplayStats.CallStat c in stats.Calls)
        {
            string by = string.Join(", ", c.ErrorsByName.Select(kv => $"{kv.Key} {kv.Value}"));
            calls.AddRow(Cell(c.Name), Cell(N(c.Count)), Cell(N(c.Errors)), Cell(by));
        }

        console.Write(calls);
        if (stats.Skipped.Count != 0)
        {
            var skipped = new Table { Title = new TableTitle("skipped calls") }.AddColumns("call", "count");
            skipped.Columns[1].RightAligned();
            foreach (KeyValuePair<string, int> kv in stats.Skipped)
            {
                skipped.AddRow(Cell(kv.Key), Cell(N(kv.Value)));
            }

            console.Write(skipped);
        }

        var peaks = new Table { Title = new TableTitle("address spaces: peaks, and the merges and splits the model performed") }
            .AddColumns("process", "VMAs", "mapped", "resident", "merges", "splits");
        for (int i = 1; i < 6; i++)
        {
            peaks.Columns[i].RightAligned();
        }

        foreach (ReplayStats.ProcessPeaks p in stats.Processes)
        {
            peaks.AddRow(
                Cell(p.Pid?.ToString(CultureInfo.InvariantCulture) ?? "main"),
                Cell(N(p.PeakVmas)),
                Cell(Size(p.PeakMappedBytes)),
                Cell(Size(p.PeakResidentBytes)),
                Cell(N(p.Merges)),
                Cell(N(p.Splits)));
        }

        console.Write(peaks);
        return text.ToString();
    }

    private static Text Cell(string s) => new(s);

    private static string N(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>kB as /proc prints sizes, with a readable unit beside.</summary>
    private static string Size(ulong bytes)
    {
        string kb = (bytes >> 10).ToString("N0", CultureInfo.InvariantCulture) + " kB";
        return bytes >= 1UL << 30 ? $"{kb} ({bytes / (double)(1UL << 30):F1} GiB)"
            : bytes >= 1UL << 20 ? $"{kb} ({bytes / (double)(1UL << 20):F1} MiB)"
            : kb;
    }
}
