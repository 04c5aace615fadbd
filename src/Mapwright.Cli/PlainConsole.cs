using Spectre.Console;

namespace Mapwright.Cli;

/// <summary>A Spectre.Console console that writes plain text (no colours, no escape codes) to a writer, for tables
/// that go into files and pipes as well as terminals.</summary>
internal static class PlainConsole
{
    public static IAnsiConsole Create(TextWriter writer, int width)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        return console;
    }
}
