using System.Reflection;
using System.Text;
using Mapwright.Diagnostics;
using Mapwright.Trace.Output;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Cli;

/// <summary>What <c>run</c> was asked to do, beyond the replay options.</summary>
internal sealed record RunRequest
{
    public bool Json { get; init; }

    public bool Stats { get; init; }

    /// <summary>Show a progress bar on standard error (the caller decides: a terminal, a long file).</summary>
    public bool Progress { get; init; }
}

/// <summary>The <c>run</c> and <c>demo</c> commands.</summary>
internal static class RunCommand
{
    /// <summary>Files at least this long get a progress bar when standard error is a terminal.</summary>
    private const long ProgressThresholdBytes = 8 << 20;

    /// <summary><c>mapwright run TRACE</c> from the command line: opens the files, then <see cref="Replay"/>.</summary>
    public static int Execute(string tracePath, string? initialMapsPath, bool check, string? mmapBase, string? brkStart,
        bool hookTrace, bool json, bool stats, string? envFile, Stream stdout, TextWriter stderr, bool followAddresses = false)
    {
        int? bad = TryBuildOptions(initialMapsPath, check, mmapBase, brkStart, hookTrace, envFile, stderr, out TraceRunOptions options);
        if (bad is int code)
        {
            return code;
        }

        options = options with { FollowAddresses = followAddresses };
        Stream? input = OpenTrace(tracePath, stderr);
        if (input is null)
        {
            return ExitCodes.IoError;
        }

        bool progress = !Console.IsErrorRedirected && Console.IsOutputRedirected && input.CanSeek && Length(input) >= ProgressThresholdBytes;
        var request = new RunRequest { Json = json, Stats = stats, Progress = progress };
        string name = tracePath == "-" ? "<stdin>" : tracePath;
        return Replay(input, name, reopen: input.CanSeek ? () => OpenTrace(tracePath, stderr) : null, options, request, stdout, stderr);
    }

    /// <summary>The replay options of <c>run</c> (and <c>report</c>) from the command line: null and
    /// <paramref name="options"/> set, or the exit code after one line on <paramref name="stderr"/>.</summary>
    public static int? TryBuildOptions(string? initialMapsPath, bool check, string? mmapBase, string? brkStart, bool hookTrace,
        string? envFile, TextWriter stderr, out TraceRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        options = new TraceRunOptions { Check = check, HookTrace = hookTrace };
        if (envFile is not null)
        {
            try
            {
                options = options with { ExecEnvironment = HostEnvironment.Split(File.ReadAllBytes(envFile)) };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                stderr.WriteLine($"mapwright: --env-file: {e.Message}");
                return ExitCodes.IoError;
            }
        }

        if (mmapBase is not null)
        {
            if (!Addresses.TryParse(mmapBase, out ulong b))
            {
                stderr.WriteLine($"mapwright: --mmap-base: '{mmapBase}' is not an address");
                return ExitCodes.Malformed;
            }

            options = options with { MmapBase = b };
        }

        if (brkStart is not null)
        {
            if (!Addresses.TryParse(brkStart, out ulong b))
            {
                stderr.WriteLine($"mapwright: --brk-start: '{brkStart}' is not an address");
                return ExitCodes.Malformed;
            }

            options = options with { BrkStart = b };
        }

        if (initialMapsPath is not null)
        {
            if (!TryReadText(initialMapsPath, stderr, out string? mapsText))
            {
                return ExitCodes.IoError;
            }

            options = options with { InitialMapsText = mapsText, InitialMapsName = initialMapsPath };
        }

        return null;
    }

    /// <summary>The embedded demonstration trace, with the hook trace on.</summary>
    public static int Demo(Stream stdout, TextWriter stderr)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("demo.trace")
            ?? throw new InvalidOperationException("the demo trace is not embedded");
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        byte[] bytes = copy.ToArray();
        return Replay(new MemoryStream(bytes), "demo.trace", () => new MemoryStream(bytes), new TraceRunOptions { HookTrace = true }, new RunRequest(), stdout, stderr);
    }

    /// <summary>Runs a trace held in memory as <c>run</c> would run a file (for tests and tools).</summary>
    public static int RunText(string trace, string fileName, TraceRunOptions options, TextWriter stdout, TextWriter stderr, RunRequest? request = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        byte[] bytes = Encoding.UTF8.GetBytes(trace);
        var output = new MemoryStream();
        int exit = Replay(new MemoryStream(bytes), fileName, () => new MemoryStream(bytes), options, request ?? new RunRequest(), output, stderr);
        stdout.Write(Encoding.UTF8.GetString(output.GetBuffer(), 0, (int)output.Length));
        return exit;
    }

    /// <summary>
    /// Replays <paramref name="input"/>. With <paramref name="reopen"/> (a file) the whole trace is checked first
    /// and malformed input is reported before any output; without it (standard input) calls run as they arrive and
    /// a malformed line stops the run there. Every failure is one line on <paramref name="stderr"/> and its exit
    /// code, never a stack trace.
    /// </summary>
    public static int Replay(Stream input, string name, Func<Stream?>? reopen, TraceRunOptions options, RunRequest request, Stream stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stderr);
        Utf8Output? output = null;
        GatedStream? gate = null;
        TraceValidation? validation = null;
        Task<(List<TraceDiagnostic> Errors, int Total)>? check = null;
        try
        {
            if (reopen is not null && !request.Progress && input.CanSeek)
            {
                // A file: the replay's reading thread checks it whole as it parses each line once for the replay,
                // the output held back until the check has passed (at the end of the run). Past GatedStream.Limit of
                // held output, a check of its own on a second handle, as below, ends the wait sooner.
                validation = new TraceValidation();
                var checkDone = new TaskCompletionSource<(List<TraceDiagnostic> Errors, int Total)>(TaskCreationOptions.RunContinuationsAsynchronously);
                Forward(validation.Completion, checkDone);
                check = checkDone.Task;
                Func<Stream?> again = reopen;
                gate = new GatedStream(stdout, check.ContinueWith(t => t.Result.Total == 0, TaskScheduler.Default), onLimit: () =>
                {
                    Stream checkInput = again() ?? throw new IOException($"{name} could not be opened again");
                    Forward(Task.Run(() =>
                    {
                        using var reader = new TraceReader(checkInput, name);
                        List<TraceDiagnostic> errors = TraceReplay.Validate(reader, out int total);
                        return (errors, total);
                    }), checkDone);
                });
            }
            else if (reopen is not null)
            {
                // A file with a progress bar: check it whole on another thread while the replay runs ahead of the
                // check on a second handle, its output held back until the check has passed.
                Stream checkInput = input;
                input = reopen() ?? throw new IOException($"{name} could not be opened again");
                check = Task.Run(() =>
                {
                    using var reader = new TraceReader(checkInput, name);
                    List<TraceDiagnostic> errors = TraceReplay.Validate(reader, out int total);
                    return (errors, total);
                });
                gate = new GatedStream(stdout, check.ContinueWith(t => t.Result.Total == 0, TaskScheduler.Default));
            }

            var setupErrors = new List<TraceDiagnostic>();
            ReplayEngine? engine = ReplayEngine.Create(options, setupErrors);
            if (engine is null)
            {
                CheckUnread(validation, input, name);
                if (check is not null && ReportMalformed(check, name, stderr))
                {
                    return ExitCodes.Malformed;
                }

                foreach (TraceDiagnostic e in setupErrors)
                {
                    stderr.WriteLine(e.ToString());
                }

                return ExitCodes.Malformed;
            }

            output = new Utf8Output(gate ?? stdout);
            ReplayStats? stats = request.Stats ? new ReplayStats() : null;
            if (stats is not null)
            {
                engine.AddSink(stats);
            }

            using JsonWriter? json = request.Json ? new JsonWriter(output, stats) : null;
            engine.AddSink(json is not null ? json : new EchoWriter(output));
            TraceDiagnostic? stopped;
            using (var reader = new TraceReader(input, name))
            {
                stopped = request.Progress
                    ? ProgressDisplay.Run(reader, engine, input.Length)
                    : validation is not null
                    ? TraceReplay.RunValidating(reader, engine, validation)
                    : TraceReplay.Run(reader, engine, readAhead: input.CanSeek, idle: () =>
                    {
                        // Input arriving over time: what ran is shown before waiting for more.
                        output.Flush();
                        stdout.Flush();
                    });
            }

            if (check is not null && ReportMalformed(check, name, stderr))
            {
                return ExitCodes.Malformed;
            }

            if (stopped is not null)
            {
                output.Flush();
                stderr.WriteLine(stopped.ToString());
                return ExitCodes.Malformed;
            }

            ReplaySummary summary = engine.Finish();
            if (stats is not null && json is null)
            {
                output.Write(StatsTable.Render(stats));
            }

            output.Flush();
            gate?.Open();
            stdout.Flush();
            return options.Check && summary.Counts.Diverged != 0 ? ExitCodes.Diverged : ExitCodes.Ok;
        }
#pragma warning disable CA1031 // The CLI's last line of defence: every exception ends in one line and its exit code.
        catch (Exception e)
#pragma warning restore CA1031
        {
            CheckUnread(validation, input, name);
            return ExitForFailure(e, check, name, stderr, () => TryFlush(output, gate, stdout));
        }
        finally
        {
            // Output still held (never opened) is dropped; its memory is not the garbage collector's.
            gate?.Dispose();
        }
    }

    /// <summary>A check the replay's reader was to make but never began (the replay failed before reading): made
    /// here, on the unread input, so that malformed input is still reported first.</summary>
    internal static void CheckUnread(TraceValidation? validation, Stream input, string name)
    {
        if (validation is null || validation.Started)
        {
            return;
        }

        validation.Started = true;
        try
        {
            using var reader = new TraceReader(input, name);
            validation.FinishReading(reader);
        }
#pragma warning disable CA1031 // Any failure to read is the check's outcome, reported by the caller.
        catch (Exception e)
#pragma warning restore CA1031
        {
            validation.Fail(e);
        }
    }

    /// <summary>Completes <paramref name="target"/> with <paramref name="source"/>'s outcome, unless it is already
    /// complete (two checks of one file: the first to end decides).</summary>
    private static void Forward(Task<(List<TraceDiagnostic> Errors, int Total)> source, TaskCompletionSource<(List<TraceDiagnostic> Errors, int Total)> target) =>
        source.ContinueWith(
            t =>
            {
                if (t.IsFaulted)
                {
                    target.TrySetException(t.Exception!.InnerExceptions);
                }
                else
                {
                    target.TrySetResult(t.Result);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);

    /// <summary>
    /// The exit code of a replay (of <c>run</c> or <c>report</c>) that ended in <paramref name="e"/>, after its one
    /// line on <paramref name="stderr"/>: malformed input found by the check (2) before anything else; the model's
    /// BUG (3); out of memory and I/O errors (4); any other exception is a BUG too. <paramref name="beforeBug"/> runs
    /// before a BUG is reported (the output so far is let through).
    /// </summary>
    internal static int ExitForFailure(Exception e, Task<(List<TraceDiagnostic> Errors, int Total)>? check, string name, TextWriter stderr, Action? beforeBug = null)
    {
        switch (e)
        {
            case MalformedTraceException when check is not null:
                ReportMalformed(check, name, stderr);
                return ExitCodes.Malformed;
            case OutOfMemoryException:
                stderr.WriteLine("mapwright: out of memory");
                return ExitCodes.IoError;
            case IOException:
                stderr.WriteLine("mapwright: I/O error: " + OneLine(e.Message));
                return ExitCodes.IoError;
            case UnauthorizedAccessException:
                stderr.WriteLine("mapwright: " + OneLine(e.Message));
                return ExitCodes.IoError;
            default:
                if (check is not null && CheckedMalformed(check, name, stderr))
                {
                    return ExitCodes.Malformed;
                }

                beforeBug?.Invoke();
                stderr.WriteLine(e is KernelBugException
                    ? "mapwright: " + OneLine(e.Message)
                    : $"mapwright: BUG: internal error: {e.GetType().Name}: {OneLine(e.Message)}");
                return ExitCodes.Bug;
        }
    }

    /// <summary>As <see cref="ReportMalformed"/> in the last resort, where nothing may escape: a check that failed
    /// to read the file counts as not malformed, and the failure being reported stands.</summary>
    private static bool CheckedMalformed(Task<(List<TraceDiagnostic> Errors, int Total)> check, string name, TextWriter stderr)
    {
        try
        {
            return ReportMalformed(check, name, stderr);
        }
#pragma warning disable CA1031 // The last line of defence: the exception being handled is what is reported.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
    }

    /// <summary>Waits for the check of a file; when it found malformed lines, prints them (in line order, at most
    /// <see cref="TraceReplay.MaxDiagnostics"/>) and returns true.</summary>
    internal static bool ReportMalformed(Task<(List<TraceDiagnostic> Errors, int Total)> check, string name, TextWriter stderr)
    {
        (List<TraceDiagnostic> errors, int total) = check.GetAwaiter().GetResult();
        if (total == 0)
        {
            return false;
        }

        foreach (TraceDiagnostic e in errors)
        {
            stderr.WriteLine(e.ToString());
        }

        if (total > errors.Count)
        {
            stderr.WriteLine($"{name}: {total - errors.Count} more malformed lines not shown");
        }

        return true;
    }

    /// <summary>What the replay printed before a bug, sent out (the check passed, or there was none).</summary>
    private static void TryFlush(Utf8Output? output, GatedStream? gate, Stream stdout)
    {
        try
        {
            output?.Flush();
            gate?.Open();
            stdout.Flush();
        }
        catch (IOException)
        {
        }
    }

    internal static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    internal static long Length(Stream s)
    {
        try
        {
            return s.Length;
        }
        catch (NotSupportedException)
        {
            return 0;
        }
    }

    /// <summary>The trace to read: a file, or standard input for <c>-</c>; null (and one line on
    /// <paramref name="stderr"/>) when it cannot be read.</summary>
    internal static Stream? OpenTrace(string path, TextWriter stderr)
    {
        if (path == "-")
        {
            return Console.OpenStandardInput(1 << 16);
        }

        if (Directory.Exists(path))
        {
            stderr.WriteLine($"mapwright: cannot read {path}: it is a directory");
            return null;
        }

        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            stderr.WriteLine($"mapwright: cannot read {path}: {OneLine(e.Message)}");
            return null;
        }
    }

    private static bool TryReadText(string path, TextWriter stderr, out string? text)
    {
        text = null;
        if (Directory.Exists(path))
        {
            stderr.WriteLine($"mapwright: cannot read {path}: it is a directory");
            return false;
        }

        try
        {
            text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            stderr.WriteLine($"mapwright: cannot read {path}: {OneLine(e.Message)}");
            return false;
        }
    }
}
