using System.Reflection;
using Mapwright.Diagnostics;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Cli;

/// <summary>The <c>run</c> and <c>demo</c> commands.</summary>
internal static class RunCommand
{
    /// <summary>Exit code for malformed input (trace-format.md).</summary>
    public const int ExitMalformed = 2;

    /// <summary>Exit code when the model hit its own BUG().</summary>
    public const int ExitBug = 3;

    public static int Execute(string tracePath, string? initialMapsPath, bool check, string? mmapBase, string? brkStart, bool hookTrace, TextWriter stdout, TextWriter stderr)
    {
        if (!TryRead(tracePath, stderr, out string? text))
        {
            return ExitMalformed;
        }

        string? mapsText = null;
        if (initialMapsPath is not null && !TryRead(initialMapsPath, stderr, out mapsText))
        {
            return ExitMalformed;
        }

        var options = new TraceRunOptions { Check = check, HookTrace = hookTrace, InitialMapsText = mapsText, InitialMapsName = initialMapsPath ?? "initial-maps" };
        if (mmapBase is not null)
        {
            if (!TraceRunner.TryParseAddress(mmapBase, out ulong b))
            {
                stderr.WriteLine($"mapwright: --mmap-base: '{mmapBase}' is not an address");
                return ExitMalformed;
            }

            options = options with { MmapBase = b };
        }

        if (brkStart is not null)
        {
            if (!TraceRunner.TryParseAddress(brkStart, out ulong b))
            {
                stderr.WriteLine($"mapwright: --brk-start: '{brkStart}' is not an address");
                return ExitMalformed;
            }

            options = options with { BrkStart = b };
        }

        return RunText(text!, tracePath == "-" ? "<stdin>" : tracePath, options, stdout, stderr);
    }

    public static int Demo(TextWriter stdout, TextWriter stderr)
    {
        using Stream stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("demo.trace")
            ?? throw new InvalidOperationException("the demo trace is not embedded");
        using var reader = new StreamReader(stream);
        return RunText(reader.ReadToEnd(), "demo.trace", new TraceRunOptions { HookTrace = true }, stdout, stderr);
    }

    public static int RunText(string text, string fileName, TraceRunOptions options, TextWriter stdout, TextWriter stderr)
    {
        TraceDocument doc = TraceParser.Parse(text, fileName);
        List<TraceDiagnostic> errors = TraceRunner.Validate(doc);
        if (errors.Count != 0)
        {
            foreach (TraceDiagnostic e in errors)
            {
                stderr.WriteLine(e.ToString());
            }

            return ExitMalformed;
        }

        try
        {
            TraceRunner? runner = TraceRunner.Create(options, stdout, errors);
            if (runner is null)
            {
                foreach (TraceDiagnostic e in errors)
                {
                    stderr.WriteLine(e.ToString());
                }

                return ExitMalformed;
            }

            TraceRunSummary summary = runner.Run(doc);
            stdout.WriteLine(summary.ToString());
            return options.Check && summary.Diverged != 0 ? 1 : 0;
        }
        catch (KernelBugException bug)
        {
            stdout.Flush();
            stderr.WriteLine("mapwright: " + bug.Message);
            return ExitBug;
        }
    }

    private static bool TryRead(string path, TextWriter stderr, out string? text)
    {
        try
        {
            text = path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"mapwright: cannot read {path}: {e.Message}");
            text = null;
            return false;
        }
    }
}
