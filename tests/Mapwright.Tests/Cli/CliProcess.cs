using System.Diagnostics;

namespace Mapwright.Tests.Cli;

/// <summary>Runs the real <c>mapwright</c> program (the CLI assembly built beside the tests) as a user would, with
/// files, standard input and exit codes.</summary>
internal static class CliProcess
{
    public static (int Exit, string Out, string Err) Run(string? stdin, params string[] args) => RunWithPath(null, stdin, args);

    /// <summary>As <see cref="Run"/>, with PATH set to <paramref name="path"/> (when not null) for the program.</summary>
    public static (int Exit, string Out, string Err) RunWithPath(string? path, string? stdin, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "Mapwright.Cli.dll");
        var psi = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (path is not null)
        {
            psi.Environment["PATH"] = path;
        }

        psi.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
        }

        p.StandardInput.Close();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("mapwright did not finish in 60 s: " + string.Join(' ', args));
        }

        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public static string TempFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), "mapwright-cli-" + Guid.NewGuid().ToString("N") + ".trace");
        File.WriteAllText(path, text);
        return path;
    }
}
