using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Mapwright.Cli;

/// <summary>
/// <c>mapwright capture [-o FILE] -- PROGRAM ARGS</c>: runs the program under strace with address randomisation
/// off and the flags a replay needs, writes the log, and prints the command that replays it (docs/cli.md).
/// </summary>
internal static partial class CaptureCommand
{
    /// <summary>personality(2)'s ADDR_NO_RANDOMIZE: inherited by children, so strace and the program it starts
    /// run with the layout a replay computes.</summary>
    private const uint AddrNoRandomize = 0x0040000;

    /// <summary>strace's flags: follow every child and thread (<c>-f</c>), print structures and environments whole
    /// (<c>-v</c>), strings up to the kernel's limit on one argument or environment string (MAX_ARG_STRLEN), so that
    /// execve's stack can be sized from the log.</summary>
    internal static readonly string[] StraceFlags = ["-f", "-v", "-s", "131072"];

    [LibraryImport("libc", EntryPoint = "personality", SetLastError = true)]
    private static partial int Personality(uint persona);

    public static int Execute(string[] command, string? output, TextWriter stdout, TextWriter stderr)
    {
        if (command.Length == 0)
        {
            stderr.WriteLine("mapwright capture: no program given (mapwright capture [-o FILE] -- PROGRAM [ARGS...])");
            return ExitCodes.Malformed;
        }

        string? strace = FindOnPath("strace");
        if (strace is null)
        {
            stderr.WriteLine("mapwright capture: strace is not installed (Debian and Ubuntu: apt-get install strace)");
            return ExitCodes.IoError;
        }

        string log = Path.GetFullPath(output ?? Path.GetFileName(command[0]) + ".strace");
        if (Directory.Exists(log))
        {
            stderr.WriteLine($"mapwright capture: {log}: is a directory");
            return ExitCodes.IoError;
        }

        string? why = OperatingSystem.IsLinux() ? DisableRandomisation() : "not Linux";
        if (why is not null)
        {
            stderr.WriteLine("mapwright capture: cannot turn address randomisation off: " + why);
            return ExitCodes.IoError;
        }

        var psi = new ProcessStartInfo(strace) { UseShellExecute = false };
        foreach (string flag in StraceFlags)
        {
            psi.ArgumentList.Add(flag);
        }

        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(log);
        psi.ArgumentList.Add("--");
        foreach (string arg in command)
        {
            psi.ArgumentList.Add(arg);
        }

        int exit;
        try
        {
            using Process p = Process.Start(psi)!;
            p.WaitForExit();
            exit = p.ExitCode;
        }
        catch (Win32Exception e)
        {
            stderr.WriteLine($"mapwright capture: cannot run {strace}: {e.Message}");
            return ExitCodes.IoError;
        }

        if (!File.Exists(log))
        {
            stderr.WriteLine($"mapwright capture: strace wrote no log (exit {exit})");
            return ExitCodes.IoError;
        }

        stdout.WriteLine($"mapwright capture: {command[0]} exited with {exit}; log in {log}. Replay it with:");
        stdout.WriteLine($"  mapwright run {Quote(log)} --check");
        return ExitCodes.Ok;
    }

    /// <summary>Sets ADDR_NO_RANDOMIZE on this process; null on success, else why not.</summary>
    private static string? DisableRandomisation()
    {
        int current = Personality(0xffffffff);
        if (current == -1 || Personality((uint)current | AddrNoRandomize) == -1)
        {
            return "personality(ADDR_NO_RANDOMIZE) failed: errno " + Marshal.GetLastPInvokeError();
        }

        return null;
    }

    private static string? FindOnPath(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, tool);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string Quote(string path) =>
        path.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '-' or '_' or '+' or ':') ? path : "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
