using System.Diagnostics;
using System.Globalization;

namespace Mapwright.Bench;

/// <summary>Builds tests/kernel-oracle/oracle.c and runs its --bench mode: the native kernel's times for the
/// same operations on this machine.</summary>
internal static class NativeOracle
{
    /// <summary>(operation, vmas) → ns per op, or null where the host could not run it (max_map_count).</summary>
    public static Dictionary<(string Op, int Vmas), double?> Run(TextWriter log)
    {
        var result = new Dictionary<(string, int), double?>();
        string source = Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "oracle.c");
        string binary = Path.Combine(Path.GetTempPath(), $"mapwright-bench-oracle-{Environment.ProcessId}");
        if (!OperatingSystem.IsLinux() || !File.Exists(source))
        {
            log.WriteLine("native: not on Linux or oracle.c missing; no native figures");
            return result;
        }

        if (!RunProcess("gcc", ["-O2", "-static", "-nostdlib", "-nostartfiles", "-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-fno-pie", "-no-pie", "-o", binary, source], out string gccOut))
        {
            log.WriteLine("native: gcc failed: " + gccOut);
            return result;
        }

        if (!RunProcess(binary, ["--bench"], out string output))
        {
            log.WriteLine("native: oracle --bench failed: " + output);
            return result;
        }

        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // native mmap_munmap vmas=100 ns_per_op=812.3 | skipped=max_map_count
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 4 || parts[0] != "native")
            {
                continue;
            }

            int vmas = int.Parse(parts[2].AsSpan(5), CultureInfo.InvariantCulture);
            double? ns = parts[3].StartsWith("ns_per_op=", StringComparison.Ordinal)
                ? double.Parse(parts[3].AsSpan(10), CultureInfo.InvariantCulture)
                : null;
            result[(parts[1], vmas)] = ns;
        }

        File.Delete(binary);
        return result;
    }

    /// <summary>Runs a program to its end; its standard output and error together in <paramref name="output"/>.</summary>
    internal static bool RunProcess(string file, string[] args, out string output, string? directory = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (directory is not null)
        {
            psi.WorkingDirectory = directory;
        }

        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using Process p = Process.Start(psi)!;
            Task<string> err = p.StandardError.ReadToEndAsync();
            output = p.StandardOutput.ReadToEnd() + err.Result;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            output = e.Message;
            return false;
        }
    }
}
