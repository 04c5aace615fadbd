using Mapwright.Diagnostics;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Mapwright.Trace.Report;

namespace Mapwright.Cli;

/// <summary>
/// <c>mapwright report TRACE -o report.html</c>: the replay of <c>run</c>, into one self-contained HTML page
/// (docs/report.md) instead of the echo. The page is written to a temporary file beside the output and renamed over
/// it at the end, so that a malformed trace, a bug or an I/O error leaves no half-written report behind.
/// </summary>
internal static class ReportCommand
{
    /// <summary>From the command line: the options as <c>run</c> reads them, then <see cref="Write"/>.</summary>
    public static int Execute(string tracePath, string outputPath, string? initialMapsPath, bool check, string? mmapBase, string? brkStart, string? envFile,
        bool followAddresses, TextWriter stdout, TextWriter stderr)
    {
        // The page always shows the hook calls of driver mappings: the hook trace is on (--hook-trace changes nothing).
        int? bad = RunCommand.TryBuildOptions(initialMapsPath, check, mmapBase, brkStart, hookTrace: true, envFile, stderr, out TraceRunOptions options);
        options = options with { FollowAddresses = followAddresses };
        if (bad is int code)
        {
            return code;
        }

        Stream? input = RunCommand.OpenTrace(tracePath, stderr);
        if (input is null)
        {
            return ExitCodes.IoError;
        }

        string name = tracePath == "-" ? "<stdin>" : tracePath;
        return Write(input, name, input.CanSeek ? () => RunCommand.OpenTrace(tracePath, stderr) : null, options, outputPath, stdout, stderr);
    }

    /// <summary>
    /// Replays <paramref name="input"/> into the report at <paramref name="outputPath"/>. A file
    /// (<paramref name="reopen"/> given) is checked whole by the replay's own reading thread as the replay runs; standard input
    /// stops at its first malformed line. Either way malformed input gives <c>FILE:LINE: message</c> lines, exit
    /// code 2 and no report.
    /// </summary>
    public static int Write(Stream input, string name, Func<Stream?>? reopen, TraceRunOptions options, string outputPath, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outputPath);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        string full = Path.GetFullPath(outputPath);
        if (Directory.Exists(full))
        {
            stderr.WriteLine($"mapwright: cannot write {outputPath}: it is a directory");
            return ExitCodes.IoError;
        }

        string temp = Path.Combine(Path.GetDirectoryName(full) ?? ".", "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        Task<(List<TraceDiagnostic> Errors, int Total)>? check = null;
        TraceValidation? validation = null;
        bool done = false;
        try
        {
            if (reopen is not null && input.CanSeek)
            {
                // A file: the replay's reading thread checks it whole as it parses each line once for the replay
                // (the report only replaces the output file once the check has passed).
                validation = new TraceValidation();
                check = validation.Completion;
            }
            else if (reopen is not null)
            {
                Stream checkInput = input;
                input = reopen() ?? throw new IOException($"{name} could not be opened again");
                check = Task.Run(() =>
                {
                    using var reader = new TraceReader(checkInput, name);
                    List<TraceDiagnostic> errors = TraceReplay.Validate(reader, out int total);
                    return (errors, total);
                });
            }

            var setupErrors = new List<TraceDiagnostic>();
            ReplayEngine? engine = ReplayEngine.Create(options, setupErrors);
            if (engine is null)
            {
                RunCommand.CheckUnread(validation, input, name);
                if (check is null || !RunCommand.ReportMalformed(check, name, stderr))
                {
                    foreach (TraceDiagnostic e in setupErrors)
                    {
                        stderr.WriteLine(e.ToString());
                    }
                }

                return ExitCodes.Malformed;
            }

            ReplaySummary summary;
            long bytes;
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var report = new ReportWriter(file, engine, Path.GetFileName(name)))
            {
                engine.AddSink(report);
                TraceDiagnostic? stopped;
                using (var reader = new TraceReader(input, name))
                {
                    stopped = validation is not null ? TraceReplay.RunValidating(reader, engine, validation) : TraceReplay.Run(reader, engine);
                }

                if (check is not null && RunCommand.ReportMalformed(check, name, stderr))
                {
                    return ExitCodes.Malformed;
                }

                if (stopped is not null)
                {
                    stderr.WriteLine(stopped.ToString());
                    return ExitCodes.Malformed;
                }

                summary = engine.Finish();
                file.Flush(flushToDisk: false);
                bytes = file.Length;
            }

            File.Move(temp, full, overwrite: true);
            done = true;
            stdout.WriteLine(summary.Counts.ToString());
            stdout.WriteLine($"report: {outputPath} ({FormatSize(bytes)})");
            return options.Check && summary.Counts.Diverged != 0 ? ExitCodes.Diverged : ExitCodes.Ok;
        }
#pragma warning disable CA1031 // The CLI's last line of defence: every exception ends in one line and its exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            RunCommand.CheckUnread(validation, input, name);
            return RunCommand.ExitForFailure(e, check, name, stderr);
        }
        finally
        {
            input.Dispose();
            if (!done)
            {
                TryDelete(temp);
            }
        }
    }

    private static string FormatSize(long bytes) =>
        bytes >= 1 << 20 ? $"{bytes / 1048576.0:0.0} MiB" : bytes >= 1 << 10 ? $"{bytes / 1024.0:0.0} KiB" : $"{bytes} bytes";

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nothing more to do: the report was not written.
        }
    }
}
