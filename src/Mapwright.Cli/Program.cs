using System.CommandLine;
using System.CommandLine.Help;
using Mapwright.Cli;

var traceArgument = new Argument<string>("trace") { Description = "Trace file in the strace-style language (docs/trace-format.md), or an strace log; '-' reads standard input." };
var initialMapsOption = new Option<string?>("--initial-maps") { Description = "A /proc/PID/maps dump giving the initial address space." };
var checkOption = new Option<bool>("--check") { Description = "Compare each line's written result with the model's; exit 1 on any divergence." };
var mmapBaseOption = new Option<string?>("--mmap-base") { Description = "Override mmap_base (hex with 0x, or decimal)." };
var brkStartOption = new Option<string?>("--brk-start") { Description = "Override the start of the heap (hex with 0x, or decimal)." };
var hookTraceOption = new Option<bool>("--hook-trace") { Description = "Print one line per mmap hook call and end with the leak report." };
var jsonOption = new Option<bool>("--json") { Description = "Write one JSON object per call (NDJSON), then a summary object, instead of the echo." };
var envFileOption = new Option<string?>("--env-file") { Description = "The environment of execve lines that do not show it (strace without -v): VAR=value strings, NUL- or newline-separated. Default: mapwright's own environment." };
var statsOption = new Option<bool>("--stats") { Description = "After the run, print calls by name with their errors, skipped calls, and each address space's peaks, merges and splits." };

var checkLocksOption = new Option<bool>("--check-locks") { Description = "Check the order of every lock the model and the devices' hooks take (the model's lockdep; always on in Debug builds): an inversion is a BUG, exit 3." };

var followOption = new Option<bool>("--follow-addresses") { Description = "A log captured with address randomisation on: place mappings (mmap without MAP_FIXED, mremap moves) and the first break where the log shows the kernel put them, when Linux could have; a divergence with the reason when not." };

var run = new Command("run", "Run a trace on the model and print every call with its result.")
{
    traceArgument, initialMapsOption, checkOption, mmapBaseOption, brkStartOption, hookTraceOption, jsonOption, statsOption, envFileOption,
};
run.Options.Add(followOption);
run.Options.Add(checkLocksOption);
run.SetAction(parse =>
{
    CheckLocks(parse.GetValue(checkLocksOption));
    using Stream stdout = Console.OpenStandardOutput();
    return RunCommand.Execute(
        parse.GetValue(traceArgument)!,
        parse.GetValue(initialMapsOption),
        parse.GetValue(checkOption),
        parse.GetValue(mmapBaseOption),
        parse.GetValue(brkStartOption),
        parse.GetValue(hookTraceOption),
        parse.GetValue(jsonOption),
        parse.GetValue(statsOption),
        parse.GetValue(envFileOption),
        stdout,
        Console.Error,
        parse.GetValue(followOption));
});

var reportTrace = new Argument<string>("trace") { Description = "Trace file (as for run); '-' reads standard input." };
var outputOption = new Option<string>("--output", "-o") { Description = "The HTML file to write.", Required = true };
var reportHookTraceOption = new Option<bool>("--hook-trace") { Description = "Accepted as run accepts it: the report always records the hook calls of driver mappings." };
var report = new Command("report", "Replay a trace into one self-contained HTML page: the address space at every call, charts, hooks.")
{
    reportTrace, outputOption, initialMapsOption, checkOption, mmapBaseOption, brkStartOption, reportHookTraceOption, envFileOption, followOption,
    checkLocksOption,
};
report.SetAction(parse =>
{
    CheckLocks(parse.GetValue(checkLocksOption));
    return ReportCommand.Execute(
    parse.GetValue(reportTrace)!,
    parse.GetValue(outputOption)!,
    parse.GetValue(initialMapsOption),
    parse.GetValue(checkOption),
    parse.GetValue(mmapBaseOption),
    parse.GetValue(brkStartOption),
    parse.GetValue(envFileOption),
    parse.GetValue(followOption),
    Console.Out,
    Console.Error);
});

var demo = new Command("demo", "Run the embedded demonstration trace: placement, merges, splits, errors, hooks.");
demo.SetAction(_ =>
{
    using Stream stdout = Console.OpenStandardOutput();
    return RunCommand.Demo(stdout, Console.Error);
});

var calls = new Command("calls", "List the calls the trace language knows: x86-64 number, kind, arguments, result.");
calls.SetAction(_ => CallsCommand.Execute(Console.Out));

var captureOutput = new Option<string?>("--output", "-o") { Description = "Where to write the log (default: PROGRAM.strace in the current directory)." };
var captureCommand = new Argument<string[]>("command") { Description = "The program and its arguments (after --).", Arity = ArgumentArity.OneOrMore };
var capture = new Command("capture", "Run a program under strace with address randomisation off and the flags a replay needs; print the command that replays the log.")
{
    captureOutput, captureCommand,
};
capture.SetAction(parse => CaptureCommand.Execute(parse.GetValue(captureCommand) ?? [], parse.GetValue(captureOutput), Console.Out, Console.Error));

// A plain command named for the program rather than RootCommand, whose name is the host executable's
// ("Mapwright.Cli" under `dotnet run`); help and version are added as RootCommand would add them.
var root = new Command("mapwright", "mapwright: an executable, Linux-faithful model of the Linux memory-management syscalls.")
{
    run, report, demo, calls, capture, new HelpOption(), new VersionOption(),
};
return root.Parse(args).Invoke();

// --check-locks: machines made from here on check their lock order (MmDebug.CheckLockOrder; on in Debug builds).
static void CheckLocks(bool on)
{
    if (on)
    {
        Mapwright.Diagnostics.MmDebug.CheckLockOrder = true;
    }
}
