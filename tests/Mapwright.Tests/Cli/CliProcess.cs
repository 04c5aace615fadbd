using System.Diagnostics;

namespace Mapwright.Tests.Cli;

/// <summary>Runs the real <c>mapwright</c> program as a user would, with files, standard input and exit codes: the
/// executable named by the environment variable <c>MAPWRIGHT_CLI</c> when it is set (CI points it at the installed
/// NativeAOT tool), otherwise the CLI assembly built beside the tests under <c>dotnet</c>.</summary>
internal static class CliProcess
{
    /// <summary>The environment variable naming a <c>mapwright</c> executable to run instead of the built assembly.</summary>
    public const string ExecutableVariable = "MAPWRIGHT_CLI";

    public static (int Exit, string Out, string Err) Run(string? stdin, params string[] args) => RunWithPath(null, stdin, args);

    /// <summary>As <see cref="Run"/>, with PATH set to <paramref name="path"/> (when not null) for the program.</summary>
    public static (int Exit, string Out, string Err) RunWithPath(string? path, string? stdin, params string[] args)
    {
        using Process p = Start(path, args);
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

    /// <summary>Starts the program with standard input, output and error redirected, for a test that talks to it.</summary>
    public static Process Start(string? path, params string[] args)
    {
        ProcessStartInfo psi;
        if (Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } executable)
        {
            // A missing file would otherwise fail every test with a Win32Exception far from its cause.
            if (!File.Exists(executable))
            {
                throw new FileNotFoundException($"{ExecutableVariable} names no file", executable);
            }

            psi = new ProcessStartInfo(Path.GetFullPath(executable));
        }
        else
        {
            psi = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Mapwright.Cli.dll"));
        }

        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        if (path is not null)
        {
            psi.Environment["PATH"] = path;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return Process.Start(psi)!;
    }

    public static string TempFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), "mapwright-cli-" + Guid.NewGuid().ToString("N") + ".trace");
        File.WriteAllText(path, text);
        return path;
    }
}
