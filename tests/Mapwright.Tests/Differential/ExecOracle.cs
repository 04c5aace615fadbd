using System.Diagnostics;
using System.Globalization;
using System.Text;
using Mapwright.Mm.Exec;

namespace Mapwright.Tests.Differential;

/// <summary>
/// The host kernel's answer to execve: compiles tests/kernel-oracle/exec-oracle.c with gcc (once per test run) and
/// runs a batch of requests in one helper process. Each child execs with randomisation off, an 8 MiB stack limit
/// and a ptrace stop at the exec; the helper prints its maps (or execve's errno).
/// </summary>
internal static class ExecOracle
{
    private static readonly Lazy<string?> s_binary = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string? SkipReason { get; private set; }

    public static string? Binary => s_binary.Value;

    /// <summary>The kernel's result for each request, in order: errno (0 on success) and the maps (or smaps) after
    /// exec.</summary>
    public static List<(int Errno, string Maps)> Run(IReadOnlyList<ExecRequest> requests, bool smaps = false)
    {
        string binary = Binary ?? throw new InvalidOperationException(SkipReason);
        var input = new MemoryStream();
        foreach (ExecRequest r in requests)
        {
            Field(input, Encoding.UTF8.GetBytes(r.Path));
            List(input, r.Argv);
            List(input, r.Envp);
        }

        var psi = new ProcessStartInfo(binary, smaps ? ["smaps"] : [])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.BaseStream.Write(input.ToArray());
        p.StandardInput.Close();
        if (!p.WaitForExit(300_000))
        {
            p.Kill();
            throw new TimeoutException("exec-oracle did not finish in 300 s");
        }

        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"exec-oracle exited {p.ExitCode}: {stderr.Result}");
        }

        var results = new List<(int, string)>();
        int errno = 0;
        StringBuilder? maps = null;
        foreach (string line in stdout.Result.Split('\n'))
        {
            if (line.StartsWith("R ", StringComparison.Ordinal))
            {
                errno = int.Parse(line.Split(' ')[2], CultureInfo.InvariantCulture);
                maps = new StringBuilder();
            }
            else if (line == "E" && maps is not null)
            {
                results.Add((errno, maps.ToString()));
                maps = null;
            }
            else if (maps is not null && line.Length != 0)
            {
                maps.Append(line).Append('\n');
            }
        }

        if (results.Count != requests.Count)
        {
            throw new InvalidOperationException($"exec-oracle answered {results.Count} of {requests.Count} requests: {stderr.Result}");
        }

        return results;
    }

    private static void Field(MemoryStream s, byte[] bytes)
    {
        s.Write(bytes);
        s.WriteByte(0);
    }

    private static void List(MemoryStream s, IReadOnlyList<byte[]> items)
    {
        Field(s, Encoding.ASCII.GetBytes(items.Count.ToString(CultureInfo.InvariantCulture)));
        foreach (byte[] item in items)
        {
            Field(s, item);
        }
    }

    private static string? Build()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            SkipReason = "the exec oracle needs Linux on x86-64";
            return null;
        }

        string source = Path.Combine(AppContext.BaseDirectory, "kernel-oracle", "exec-oracle.c");
        string dir = Path.Combine(Path.GetTempPath(), "mapwright-exec-oracle-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        string output = Path.Combine(dir, "exec-oracle");
        string? err = Gcc.Compile(source, output, ["-O2"]);
        if (err is not null)
        {
            SkipReason = err;
            return null;
        }

        return output;
    }
}
