using System.Diagnostics;
using System.Globalization;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Spectre.Console;

namespace Mapwright.Cli;

/// <summary>A progress bar on standard error for a long replay: bytes read of the file's size, and calls per
/// second. Used only when standard error is a terminal (and standard output is not).</summary>
internal static class ProgressDisplay
{
    public static TraceDiagnostic? Run(TraceReader reader, ReplayEngine engine, long length)
    {
        // Standard error is a terminal (the caller checked); Spectre's own detection looks at standard output, which
        // is redirected here, and would fall back to printing one line per update.
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(Console.Error),
        });
        TraceDiagnostic? stopped = null;
        var clock = Stopwatch.StartNew();
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask("replaying", maxValue: Math.Max(length, 1));
                stopped = TraceReplay.Run(reader, engine, (lines, bytes) =>
                {
                    if (bytes >= 0)
                    {
                        task.Value = bytes;
                    }

                    double rate = lines / Math.Max(clock.Elapsed.TotalSeconds, 1e-3);
                    task.Description = rate.ToString("N0", CultureInfo.InvariantCulture) + " lines/s";
                },
                readAhead: true);
                task.Value = task.MaxValue;
            });
        return stopped;
    }
}
