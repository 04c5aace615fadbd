using System.Globalization;
using Mapwright.Trace.Calls;
using Spectre.Console;

namespace Mapwright.Cli;

/// <summary><c>mapwright calls</c>: the syscall table, as the parser and the replay use it.</summary>
internal static class CallsCommand
{
    public static int Execute(TextWriter stdout)
    {
        IAnsiConsole console = PlainConsole.Create(stdout, 110);
        var table = new Table().AddColumns("call", "x86-64 nr", "kind", "arguments", "result");
        table.Columns[1].RightAligned();
        foreach (SyscallRow row in SyscallTable.Rows)
        {
            string args = row.Category == CallCategory.Descriptor
                ? "(any; the descriptor it returns is taken)"
                : string.Join(", ", row.Args.Select((a, i) => (i < row.MinArgs ? "" : "[") + a.ToString().ToLowerInvariant() + (i < row.MinArgs ? "" : "]")));
            table.AddRow(
                new Text(row.Name),
                new Text(row.IsSyscall ? row.Number.ToString(CultureInfo.InvariantCulture) : "-"),
                new Text(row.Category.ToString().ToLowerInvariant()),
                new Text(args),
                new Text(row.Spelling.ToString().ToLowerInvariant()));
        }

        console.Write(table);
        stdout.WriteLine("Any other call is skipped and counted.");
        return ExitCodes.Ok;
    }
}
