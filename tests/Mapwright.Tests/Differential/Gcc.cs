using System.Diagnostics;

namespace Mapwright.Tests.Differential;

/// <summary>The machine's gcc, for helpers and test programs compiled at test time.</summary>
internal static class Gcc
{
    /// <summary>Compiles (and links) <paramref name="source"/>; returns null, or why it could not.</summary>
    public static string? Compile(string source, string output, IEnumerable<string> flags)
    {
        var psi = new ProcessStartInfo("gcc")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string f in flags)
        {
            psi.ArgumentList.Add(f);
        }

        psi.ArgumentList.Add("-o");
        psi.ArgumentList.Add(output);
        psi.ArgumentList.Add(source);
        try
        {
            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            _ = stdout.Result;
            return p.ExitCode == 0 ? null : "gcc failed: " + err;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return "gcc is not available: " + e.Message;
        }
    }
}
