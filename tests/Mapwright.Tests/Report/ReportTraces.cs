using System.Globalization;
using System.Text;
using Mapwright.Cli;
using Mapwright.Mm;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Tests.Report;

/// <summary>Traces for the report tests, the reports made of them, and the model's maps after each call.</summary>
internal static class ReportTraces
{
    /// <summary>The maps execve leaves for a small dynamically linked program (as gdb reads them at the first
    /// instruction), [vsyscall] included.</summary>
    public const string ProgramMaps =
        "555555554000-555555556000 r--p 00000000 08:01 1234                       /usr/bin/demo\n"
        + "555555556000-55555555a000 r-xp 00002000 08:01 1234                       /usr/bin/demo\n"
        + "55555555a000-55555555c000 r--p 00006000 08:01 1234                       /usr/bin/demo\n"
        + "55555555c000-55555555e000 rw-p 00007000 08:01 1234                       /usr/bin/demo\n"
        + "7ffff7fc1000-7ffff7fc5000 r--p 00000000 00:00 0                          [vvar]\n"
        + "7ffff7fc5000-7ffff7fc7000 r-xp 00000000 00:00 0                          [vdso]\n"
        + "7ffff7fc7000-7ffff7fc8000 r--p 00000000 08:01 5678                       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
        + "7ffff7fc8000-7ffff7ff0000 r-xp 00001000 08:01 5678                       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
        + "7ffff7ff0000-7ffff7ffb000 r--p 00029000 08:01 5678                       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
        + "7ffff7ffb000-7ffff7fff000 rw-p 00034000 08:01 5678                       /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n"
        + "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
        + "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";

    /// <summary>What such a program does next: the heap, anonymous and shared memory, a guard page, a driver's
    /// mapping (its hooks), a fork whose child maps and exits, smaps. Every written result is the model's but line 17's
    /// (<see cref="DivergedLine"/>), which <c>--check</c> reports.</summary>
    public const string Program =
        "brk(NULL) = 0x55555555e000\n"
        + "brk(0x55555557f000) = 0x55555557f000\n"
        + "mmap(NULL, 262144, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7f81000\n"
        + "mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7c00000\n"
        + "mprotect(0x7ffff7c00000, 4096, PROT_NONE) = 0\n"
        + "memfd_create(\"shm\", MFD_ALLOW_SEALING) = 3\n"
        + "ftruncate(3, 65536) = 0\n"
        + "mmap(NULL, 65536, PROT_READ|PROT_WRITE, MAP_SHARED, 3, 0) = 0x7ffff7f71000\n"
        + "poke(0x7ffff7f81000, 65536, 7) = 0\n"
        + "openat(AT_FDCWD, \"/dev/mapwright/pseudolock\", O_RDWR) = 4\n"
        + "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, 4, 0) = 0x7ffff7f6f000\n"
        + "smaps()\n"
        + "fork() = 2\n"
        + "2 mmap(NULL, 1048576, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7e6f000\n"
        + "2 exit_group(0) = ?\n"
        + "mprotect(0x7ffff7f81000, 8192, PROT_READ) = 0\n"
        + "munmap(0x7ffff7f91000, 65536) = -1 EINVAL (Invalid argument)\n"
        + "brk(0x555555590000) = 0x555555590000\n"
        + "read(0, \"\\177ELF\\2\\1\\1\\0\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0\"..., 832) = 832\n"
        + "munmap(0x7ffff7c00000, 1048576) = 0\n";

    /// <summary>The line of <see cref="Program"/> whose written result is wrong.</summary>
    public const int DivergedLine = 17;

    /// <summary>Calls (lines) of <see cref="Program"/>.</summary>
    public const int ProgramCalls = 20;

    public static TraceRunOptions Options(bool check = false) => new()
    {
        Config = new MmConfig(),
        InitialMapsText = ProgramMaps,
        InitialMapsName = "program.maps",
        BrkStart = 0x55555555e000,
        Check = check,
        HookTrace = true,
    };

    /// <summary>Writes the report of <paramref name="trace"/> as <c>mapwright report</c> does; returns its path.</summary>
    public static string WriteReport(string trace, TraceRunOptions options, string name = "program.trace")
    {
        string path = Path.Combine(Path.GetTempPath(), "mapwright-report-" + Guid.NewGuid().ToString("N") + ".html");
        byte[] bytes = Encoding.UTF8.GetBytes(trace);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = ReportCommand.Write(new MemoryStream(bytes), name, () => new MemoryStream(bytes), options, path, stdout, stderr);
        if (exit is not (0 or 1))
        {
            throw new InvalidOperationException($"report exited {exit}: {stderr}");
        }

        return path;
    }

    /// <summary>The model's maps text of the main process after each call of <paramref name="trace"/> (the same
    /// engine, with a sink of its own); with <paramref name="only"/>, after those calls (1-based) only, the others
    /// empty.</summary>
    public static List<string> MainMapsAfterEachCall(string trace, TraceRunOptions options, ISet<int>? only = null)
    {
        var errors = new List<TraceDiagnostic>();
        ReplayEngine engine = ReplayEngine.Create(options, errors) ?? throw new InvalidOperationException(string.Join("; ", errors));
        var sink = new MapsAfterEachCall(engine, only);
        engine.AddSink(sink);
        using var reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(trace)), "t.trace");
        if (TraceReplay.Run(reader, engine) is { } error)
        {
            throw new InvalidOperationException(error.ToString());
        }

        engine.Finish();
        return sink.Maps;
    }

    /// <summary>The ranges of a maps text, as the page writes them (<c>0x</c> and the maps digits).</summary>
    public static List<(string Start, string End)> Ranges(string maps)
    {
        var ranges = new List<(string, string)>();
        foreach (string line in maps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] range = line.Split(' ')[0].Split('-');
            ranges.Add(("0x" + range[0], "0x" + range[1]));
        }

        return ranges;
    }

    /// <summary>A churn trace like the replay benchmark's: <paramref name="vmas"/> one-page VMAs side by side, then
    /// mprotect, munmap, MAP_FIXED mmap and madvise of random ones, <paramref name="calls"/> calls in all.</summary>
    public static string Churn(int calls, int vmas, int seed = 1)
    {
        const ulong Base = 0x200000000000;
        var sb = new StringBuilder(calls * 72);
        var rng = new Random(seed);
        var rw = new bool[vmas];
        var mapped = new bool[vmas];
        string Hex(int i) => "0x" + (Base + ((ulong)i << 12)).ToString("x", CultureInfo.InvariantCulture);
        string Prot(int i) => rw[i] ? "PROT_READ|PROT_WRITE" : "PROT_READ";
        for (int i = 0; i < vmas; i++)
        {
            rw[i] = (i & 1) == 0;
            mapped[i] = true;
            sb.Append("mmap(").Append(Hex(i)).Append(", 4096, ").Append(Prot(i)).Append(", MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)\n");
        }

        for (int n = vmas; n < calls; n++)
        {
            int i = rng.Next(vmas);
            if (!mapped[i])
            {
                mapped[i] = true;
                sb.Append("mmap(").Append(Hex(i)).Append(", 4096, ").Append(Prot(i)).Append(", MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n");
                continue;
            }

            switch (rng.Next(4))
            {
                case 0:
                    mapped[i] = false;
                    sb.Append("munmap(").Append(Hex(i)).Append(", 4096)\n");
                    break;
                case 1:
                    rw[i] = !rw[i];
                    sb.Append("mprotect(").Append(Hex(i)).Append(", 4096, ").Append(Prot(i)).Append(")\n");
                    break;
                case 2:
                    sb.Append("madvise(").Append(Hex(i)).Append(", 4096, MADV_DONTNEED)\n");
                    break;
                default:
                    sb.Append("poke(").Append(Hex(i)).Append(", 4096, 1)\n");
                    break;
            }
        }

        return sb.ToString();
    }

    private sealed class MapsAfterEachCall(ReplayEngine engine, ISet<int>? only) : IOutcomeSink
    {
        public List<string> Maps { get; } = [];

        public void OnOutcome(Outcome outcome) =>
            Maps.Add(only is null || only.Contains(Maps.Count + 1) ? engine.Main.Mm.FormatMaps() : string.Empty);

        public void OnEnd(ReplaySummary summary)
        {
        }
    }
}
