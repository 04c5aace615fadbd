using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Mapwright.Tests.Differential;

/// <summary>
/// The host kernel as a test oracle: compiles tests/kernel-oracle/oracle.c with the machine's gcc (once per
/// test run) and runs numeric op lists on it. See tests/kernel-oracle/README.md for the protocol.
/// </summary>
internal static class KernelOracle
{
    private static readonly Lazy<string?> s_binary = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string? SkipReason { get; private set; }

    /// <summary>The compiled oracle, or null (with <see cref="SkipReason"/>) where it cannot be built here.</summary>
    public static string? Binary => s_binary.Value;

    private static string? Build()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            SkipReason = "the kernel oracle needs Linux on x86-64";
            return null;
        }

        string source = Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "oracle.c");
        if (!File.Exists(source))
        {
            SkipReason = "oracle.c is not beside the tests";
            return null;
        }

        string dir = Path.Combine(Path.GetTempPath(), "mapwright-oracle-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "oracle");
        var psi = new ProcessStartInfo("gcc")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-O2", "-static", "-nostdlib", "-nostartfiles", "-ffreestanding", "-fno-stack-protector", "-fno-builtin", "-fno-pie", "-no-pie", "-o", output, source })
        {
            psi.ArgumentList.Add(a);
        }

        try
        {
            using Process p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                SkipReason = "gcc failed: " + err;
                return null;
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            SkipReason = "gcc is not available: " + e.Message;
            return null;
        }

        return output;
    }

    /// <summary>Runs the ops and parses the answer.</summary>
    public static OracleRun Run(string ops)
    {
        string binary = Binary ?? throw new InvalidOperationException(SkipReason);
        var psi = new ProcessStartInfo(binary)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process p = Process.Start(psi)!;
        p.StandardInput.Write(ops);
        p.StandardInput.Close();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(60_000))
        {
            p.Kill();
            throw new TimeoutException("the kernel oracle did not finish in 60 s");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"kernel oracle exited {p.ExitCode}: {stderr.Result}");
        }

        return OracleRun.Parse(stdout);
    }
}

/// <summary>What the oracle printed: its initial maps and brk, then one entry per op.</summary>
internal sealed class OracleRun
{
    public string InitialMaps { get; private set; } = string.Empty;

    public ulong Brk { get; private set; }

    /// <summary>In op order: "R value" results, "V hex" vectors, "M" maps, "T" status and "Q" smaps texts.</summary>
    public List<(char Kind, string Text)> Entries { get; } = [];

    public static OracleRun Parse(string output)
    {
        var run = new OracleRun();
        string[] lines = output.Split('\n');
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i];
            if (line == "I{" || line == "M{" || line == "T{" || line == "Q{")
            {
                var sb = new StringBuilder();
                i++;
                while (i < lines.Length && lines[i] != "}")
                {
                    sb.Append(lines[i]).Append('\n');
                    i++;
                }

                if (line == "I{")
                {
                    run.InitialMaps = sb.ToString();
                }
                else
                {
                    run.Entries.Add((line[0], sb.ToString()));
                }
            }
            else if (line.StartsWith("B ", StringComparison.Ordinal))
            {
                run.Brk = ulong.Parse(line.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("R ", StringComparison.Ordinal))
            {
                run.Entries.Add(('R', line[2..]));
            }
            else if (line.StartsWith("V ", StringComparison.Ordinal))
            {
                run.Entries.Add(('V', line[2..]));
            }

            i++;
        }

        return run;
    }
}
