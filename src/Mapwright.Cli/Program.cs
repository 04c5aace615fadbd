using System.CommandLine;
using Mapwright.Cli;

var traceArgument = new Argument<string>("trace") { Description = "Trace file in the strace-style language (trace-format.md); '-' reads standard input." };
var initialMapsOption = new Option<string?>("--initial-maps") { Description = "A /proc/PID/maps dump giving the initial address space." };
var checkOption = new Option<bool>("--check") { Description = "Compare each line's written result with the model's; exit 1 on any divergence." };
var mmapBaseOption = new Option<string?>("--mmap-base") { Description = "Override mmap_base (hex with 0x, or decimal)." };
var brkStartOption = new Option<string?>("--brk-start") { Description = "Override the start of the heap (hex with 0x, or decimal)." };
var hookTraceOption = new Option<bool>("--hook-trace") { Description = "Print one line per mmap hook call and end with the leak report." };

var run = new Command("run", "Run a trace on the model and print every call with its result.")
{
    traceArgument, initialMapsOption, checkOption, mmapBaseOption, brkStartOption, hookTraceOption,
};
run.SetAction(parse => RunCommand.Execute(
    parse.GetValue(traceArgument)!,
    parse.GetValue(initialMapsOption),
    parse.GetValue(checkOption),
    parse.GetValue(mmapBaseOption),
    parse.GetValue(brkStartOption),
    parse.GetValue(hookTraceOption),
    Console.Out,
    Console.Error));

var demo = new Command("demo", "Run the embedded demonstration trace: placement, merges, splits, errors.");
demo.SetAction(_ => RunCommand.Demo(Console.Out, Console.Error));

var root = new RootCommand("mapwright: an executable, Linux-faithful model of the mmap syscall family.") { run, demo };
return root.Parse(args).Invoke();
