using System.Globalization;
using System.Text;
using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Tests.Differential;

/// <summary>
/// Runs one trace on the host kernel (through <see cref="KernelOracle"/>) and on the model started from the
/// oracle's initial maps, and lists every difference in results, residency vectors and maps.
/// </summary>
internal static class DifferentialRunner
{
    /// <summary>The x86-64 number of a call the oracle runs as a raw syscall: the memory and file calls of the
    /// syscall table, and exit/exit_group; -1 for the rest (pseudo-calls, fork, calls outside the model).</summary>
    private static int SyscallNumber(string name) =>
        SyscallTable.TryGet(name, out SyscallRow row) && row.IsSyscall
        && (row.Category is CallCategory.Memory or CallCategory.File || name is "exit" or "exit_group")
            ? row.Number
            : -1;

    public sealed class Outcome
    {
        public List<string> Differences { get; } = [];

        public int Calls { get; set; }

        public int MatchedCalls { get; set; }

        public bool FinalMapsMatch { get; set; }

        public string Report(string name) => $"{name}: {Differences.Count} difference(s) in {Calls} calls\n" + string.Join("\n", Differences);
    }

    /// <summary>Maximum pages whose residency vector is compared after a mincore.</summary>
    private const ulong MaxVecPages = 256;

    /// <param name="compareReferenced">Compare smaps' Referenced lines. The kernel's PG_referenced and PG_active
    /// move through per-CPU LRU batches (folio_activate, folio_deactivate, lru_lazyfree) whose draining a trace
    /// does not control, so random traces leave Referenced out; hand-written traces compare it.</param>
    public static Outcome Run(string traceText, string name, bool compareReferenced = true)
    {
        TraceDocument doc = TraceParser.Parse(traceText, name);
        if (doc.Errors.Count != 0)
        {
            throw new InvalidOperationException("malformed trace: " + string.Join("; ", doc.Errors));
        }

        var ops = new StringBuilder();
        var oracleProcess = new Dictionary<int, int>();
        int forks = 0;
        int current = 0;
        int? mainPid = null;
        foreach (TraceCall call in doc.Calls)
        {
            // Processes: the oracle's X op switches to the process a line's PID names (0 is the first process,
            // k the child of the k-th fork); K forks the current one.
            int target = 0;
            if (call.Pid is int pid && pid != mainPid)
            {
                if (oracleProcess.TryGetValue(pid, out int idx))
                {
                    target = idx;
                }
                else if (mainPid is null)
                {
                    mainPid = pid;
                }
                else
                {
                    throw new InvalidOperationException($"line {call.Line}: pid {pid} was not created by a fork line");
                }
            }

            if (target != current)
            {
                ops.Append("X ").Append(target.ToString("x", CultureInfo.InvariantCulture)).Append('\n');
                current = target;
            }

            if (call.Name == "fork")
            {
                if (call.Result is not { Kind: TraceResultKind.Value } forkResult)
                {
                    throw new InvalidOperationException($"line {call.Line}: a differential trace's fork line needs its child pid (fork() = N)");
                }

                oracleProcess[(int)forkResult.Value] = ++forks;
                ops.Append("K\nT\n");
                continue;
            }

            if (call.Name is "exit" or "exit_group")
            {
                // The oracle needs an X right after a child's exit: force one before the next op.
                ops.Append("S ").Append(SyscallNumber(call.Name).ToString("x", CultureInfo.InvariantCulture)).Append(" 0 0 0 0 0 0\n");
                current = -1;
                continue;
            }

            if (call.Name == "maps")
            {
                ops.Append("M\n");
            }
            else if (call.Name == "smaps")
            {
                ops.Append("Q\n");
            }
            else if (call.Name == "status")
            {
                ops.Append("T\n");
            }
            else if (call.Name is "peek" or "poke" or "fpeek")
            {
                ops.Append(call.Name switch { "peek" => "P", "poke" => "W", _ => "F" });
                foreach (TraceArg arg in call.Args)
                {
                    ops.Append(' ').Append(arg.Value.ToString("x", CultureInfo.InvariantCulture));
                }

                ops.Append("\nT\n");
            }
            else if (SyscallNumber(call.Name) is int nr and >= 0)
            {
                ops.Append("S ").Append(nr.ToString("x", CultureInfo.InvariantCulture));
                for (int i = 0; i < 6; i++)
                {
                    ops.Append(' ');
                    if (call.Name == "mincore" && i == 2)
                    {
                        ops.Append('@');
                    }
                    else if (i < call.Args.Count && call.Args[i].Kind == TraceArgKind.String)
                    {
                        ops.Append('$').Append(Convert.ToHexString(Encoding.UTF8.GetBytes(call.Args[i].Text)).ToLowerInvariant());
                    }
                    else
                    {
                        ulong v = i < call.Args.Count ? ArgValue(call.Args[i]) : 0;
                        ops.Append(v.ToString("x", CultureInfo.InvariantCulture));
                    }
                }

                ops.Append('\n');
                if (call.Name == "mincore")
                {
                    ops.Append("V ").Append(VecPages(call).ToString("x", CultureInfo.InvariantCulture)).Append('\n');
                }

                ops.Append("T\n");
            }
        }

        if (current != 0)
        {
            ops.Append("X 0\n");
        }

        ops.Append("M\n");
        OracleRun kernel = KernelOracle.Run(ops.ToString());

        var options = new TraceRunOptions
        {
            InitialMapsText = kernel.InitialMaps,
            InitialMapsName = name + ":initial-maps",
            Config = MmConfig.FromHost(),
        };
        var setupErrors = new List<TraceDiagnostic>();
        ReplayEngine engine = ReplayEngine.Create(options, setupErrors)
            ?? throw new InvalidOperationException("initial maps rejected: " + string.Join("; ", setupErrors));

        // The model runs through the same reader, engine and outcome stream as `mapwright run`.
        var comparer = new KernelComparer(kernel, compareReferenced);
        engine.AddSink(comparer);
        using (var reader = new TraceReader(new StringReader(traceText), name))
        {
            if (TraceReplay.Run(reader, engine, readAhead: true) is { } stopped)
            {
                throw new InvalidOperationException("malformed trace: " + stopped);
            }
        }

        engine.Finish();
        Outcome outcome = comparer.Result;
        string finalKernel = NormalizeInodes(kernel.Entries[comparer.Next].Text);
        string finalModel = NormalizeInodes(engine.Main.Mm.FormatMaps());
        outcome.FinalMapsMatch = finalKernel == finalModel;
        if (!outcome.FinalMapsMatch)
        {
            outcome.Differences.Add("final maps differ\n" + MapsDiff(finalKernel, finalModel));
        }

        return outcome;
    }

    /// <summary>Compares each outcome of the model's replay with the kernel's entries for the same line, in order.</summary>
    private sealed class KernelComparer(OracleRun kernel, bool compareReferenced) : IOutcomeSink
    {
        private int _e;

        public Outcome Result { get; } = new();

        /// <summary>The next kernel entry not yet compared.</summary>
        public int Next => _e;

        public void OnEnd(ReplaySummary summary)
        {
        }

        public void OnOutcome(Mapwright.Trace.Replay.Outcome o)
        {
            Mapwright.Trace.Parsing.CallLine call = o.Call;
            Mapwright.Syscalls.MmSyscalls sys = o.Process
                ?? throw new InvalidOperationException($"line {call.Line}: pid {call.Pid} is not a live process");
            string callText = call.CallText.ToString();
            Outcome outcome = Result;
            if (call.Name == "fork")
            {
                outcome.Calls++;
                (char _, string forkText) = kernel.Entries[_e++];
                string forkStatus = CompareStatus(kernel.Entries[_e++].Text, sys.Mm);
                bool kernelOk = !forkText.StartsWith('-');
                if (kernelOk != !o.Result.IsError)
                {
                    outcome.Differences.Add($"line {call.Line}: fork(): kernel {forkText}, model {o.FormatResult()}");
                }
                else if (forkStatus.Length != 0)
                {
                    outcome.Differences.Add($"line {call.Line}: fork(): counters differ:{forkStatus}");
                }
                else
                {
                    outcome.MatchedCalls++;
                }

                return;
            }

            switch (call.Name)
            {
                case "exit" or "exit_group":
                    return;
                case "smaps":
                    {
                        string initial = kernel.InitialMaps;
                        string kernelSmaps = NormalizeSmaps(kernel.Entries[_e++].Text, initial, compareReferenced);
                        string modelSmaps = NormalizeSmaps(o.ViewText!, initial, compareReferenced);
                        if (kernelSmaps != modelSmaps)
                        {
                            outcome.Differences.Add($"line {call.Line}: smaps() differ\n{SmapsDiff(kernelSmaps, modelSmaps)}");
                        }

                        return;
                    }

                case "status":
                    {
                        string statusOnly = CompareStatus(kernel.Entries[_e++].Text, sys.Mm);
                        if (statusOnly.Length != 0)
                        {
                            outcome.Differences.Add($"line {call.Line}: status() differs:{statusOnly}");
                        }

                        return;
                    }

                case "maps":
                    {
                        string kernelMaps = NormalizeInodes(kernel.Entries[_e++].Text);
                        string modelMaps = NormalizeInodes(o.ViewText!);
                        if (kernelMaps != modelMaps)
                        {
                            outcome.Differences.Add($"line {call.Line}: maps() differ\n{MapsDiff(kernelMaps, modelMaps)}");
                        }

                        return;
                    }

                case "peek" or "poke" or "fpeek":
                    {
                        outcome.Calls++;
                        string kernelText = kernel.Entries[_e++].Text;
                        string modelText = o.FormatResult();
                        bool same = kernelText.StartsWith('-')
                            ? o.Result.IsError && o.Result.Raw == long.Parse(kernelText, CultureInfo.InvariantCulture)
                            : kernelText == modelText;
                        string accessStatus = CompareStatus(kernel.Entries[_e++].Text, sys.Mm);
                        if (!same)
                        {
                            outcome.Differences.Add($"line {call.Line}: {callText}: kernel {kernelText}, model {modelText}");
                        }
                        else if (accessStatus.Length != 0)
                        {
                            outcome.Differences.Add($"line {call.Line}: {callText}: counters differ:{accessStatus}");
                        }
                        else
                        {
                            outcome.MatchedCalls++;
                        }

                        return;
                    }

                default:
                    break;
            }

            if (SyscallNumber(call.Name) < 0)
            {
                return;
            }

            outcome.Calls++;
            (char kind, string text) = kernel.Entries[_e++];
            if (kind != 'R' || text == "refused")
            {
                throw new InvalidOperationException($"line {call.Line}: the oracle refused {callText}; the trace touches the helper's own memory");
            }

            long kernelValue = long.Parse(text, CultureInfo.InvariantCulture);
            string? vecDiff = null;
            if (call.Name == "mincore")
            {
                string kernelVec = kernel.Entries[_e++].Text;
                if (kernelValue == 0 && !o.Result.IsError)
                {
                    string modelVec = Hex(o.MincoreVector, (int)VecPages(call.Arg(1)));
                    if (modelVec != kernelVec)
                    {
                        vecDiff = $" vec kernel={kernelVec} model={modelVec}";
                    }
                }
            }

            string statusDiff = CompareStatus(kernel.Entries[_e++].Text, sys.Mm);
            bool hex = o.Spelling == ResultSpelling.Hex;
            if (o.Result.Raw != kernelValue || vecDiff is not null)
            {
                outcome.Differences.Add($"line {call.Line}: {callText}: kernel {new SysResult(kernelValue).Format(hex)}, model {o.FormatResult()}{vecDiff}");
            }
            else if (statusDiff.Length != 0)
            {
                outcome.Differences.Add($"line {call.Line}: {callText}: counters differ:{statusDiff}");
            }
            else
            {
                outcome.MatchedCalls++;
            }
        }
    }

    /// <summary>
    /// Compares the kernel's VmSize, VmLck, VmData and VmStk (kB) with the model's total_vm, locked_vm,
    /// data_vm and stack_vm. Linux: fs/proc/task_mmu.c task_mem().
    /// </summary>
    private static string CompareStatus(string status, AddressSpace mm)
    {
        var sb = new StringBuilder();
        foreach (string line in status.Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            string key = line[..colon];
            ulong? model = key switch
            {
                "VmSize" => mm.TotalVm * 4,
                "VmPeak" => mm.Status().VmPeak * 4,
                "VmLck" => mm.LockedVm * 4,
                "VmData" => mm.DataVm * 4,
                "VmStk" => mm.StackVm * 4,
                _ => null,
            };
            if (model is null)
            {
                continue;
            }

            ulong kernelKb = ulong.Parse(line[(colon + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            if (kernelKb != model)
            {
                sb.Append(' ').Append(key).Append(" kernel=").Append(kernelKb).Append("kB model=").Append(model).Append("kB");
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The smaps entries of the VMAs the trace made or changed: an entry overlapping one of the oracle's initial
    /// VMAs holds the helper's own memory (its image, bss, stack, vdso; brk can grow the bss), whose residency
    /// the model cannot know.
    /// Inodes are normalised as in maps; LazyFree is left out: Linux marks MADV_FREE pages lazily freeable
    /// through a per-CPU batch (folio_mark_lazyfree() → lru_lazyfree), so when smaps sees it depends on when
    /// that batch drains (docs/divergences.md).
    /// </summary>
    internal static string NormalizeSmaps(string smaps, string initialMaps, bool keepReferenced = true)
    {
        var initial = new List<(ulong Start, ulong End)>();
        foreach (string line in initialMaps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            initial.Add(Range(line));
        }
        var sb = new StringBuilder();
        bool keep = false;
        foreach (string line in smaps.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (IsMapsLine(line))
            {
                (ulong start, ulong end) = Range(line);
                keep = !initial.Exists(r => r.Start < end && start < r.End);
                if (keep)
                {
                    sb.Append(NormalizeInodes(line));
                }

                continue;
            }

            if (keep && !line.StartsWith("LazyFree:", StringComparison.Ordinal)
                && (keepReferenced || !line.StartsWith("Referenced:", StringComparison.Ordinal)))
            {
                sb.Append(line).Append('\n');
            }
        }

        return sb.ToString();
    }

    /// <summary>Entry by entry: the header of every entry that differs, with its differing fields.</summary>
    private static string SmapsDiff(string kernel, string model)
    {
        static Dictionary<string, List<string>> Entries(string text)
        {
            var d = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            List<string>? cur = null;
            foreach (string line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (IsMapsLine(line))
                {
                    cur = [];
                    d[line] = cur;
                }
                else
                {
                    cur?.Add(line);
                }
            }

            return d;
        }

        Dictionary<string, List<string>> k = Entries(kernel), m = Entries(model);
        var sb = new StringBuilder();
        foreach ((string head, List<string> kl) in k)
        {
            if (!m.TryGetValue(head, out List<string>? ml))
            {
                sb.Append(" K ").Append(head).Append('\n');
                continue;
            }

            if (kl.SequenceEqual(ml))
            {
                continue;
            }

            sb.Append("   ").Append(head).Append('\n');
            for (int i = 0; i < Math.Max(kl.Count, ml.Count); i++)
            {
                string a = i < kl.Count ? kl[i] : "(none)", b = i < ml.Count ? ml[i] : "(none)";
                if (a != b)
                {
                    sb.Append("     K ").Append(a).Append("  |  M ").Append(b).Append('\n');
                }
            }
        }

        foreach (string head in m.Keys)
        {
            if (!k.ContainsKey(head))
            {
                sb.Append(" M ").Append(head).Append('\n');
            }
        }

        return sb.ToString();
    }

    private static (ulong Start, ulong End) Range(string mapsLine)
    {
        int dash = mapsLine.IndexOf('-', StringComparison.Ordinal);
        int space = mapsLine.IndexOf(' ', StringComparison.Ordinal);
        return (ulong.Parse(mapsLine.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                ulong.Parse(mapsLine.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }

    private static bool IsMapsLine(string line)
    {
        int dash = line.IndexOf('-', StringComparison.Ordinal);
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (dash <= 0 || space < dash)
        {
            return false;
        }

        foreach (char c in line.AsSpan(0, dash))
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    private static ulong ArgValue(TraceArg arg) => arg.Text switch
    {
        "F_ADD_SEALS" => 1033,
        "F_GET_SEALS" => 1034,
        _ => arg.Value,
    };

    private static ulong VecPages(TraceCall call) => VecPages(call.Args[1].Value);

    private static ulong VecPages(ulong len)
    {
        ulong pages = (len >> 12) + ((len & 0xfff) != 0 ? 1UL : 0);
        return Math.Min(pages, MaxVecPages);
    }

    private static string Hex(IReadOnlyList<byte> vec, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            sb.Append((i < vec.Count ? vec[i] : 0).ToString("x2", CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    /// <summary>
    /// Inode numbers of shmem and memfd files come from a global kernel counter: compare them by order of first
    /// appearance (design.md, lessons for the kernel-side helper).
    /// </summary>
    internal static string NormalizeInodes(string maps)
    {
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (string line in maps.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            string[] parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 6 && (parts[5] == "/dev/zero (deleted)" || parts[5].StartsWith("/memfd:", StringComparison.Ordinal) || parts[5].StartsWith("/SYSV", StringComparison.Ordinal)))
            {
                string key = parts[3] + " " + parts[4];
                if (!order.TryGetValue(key, out int n))
                {
                    n = order.Count + 1;
                    order[key] = n;
                }

                int inodeStart = line.IndexOf(" " + parts[4] + " ", line.IndexOf(parts[3], StringComparison.Ordinal), StringComparison.Ordinal) + 1;
                string head = line[..inodeStart] + "#" + n.ToString(CultureInfo.InvariantCulture);
                sb.Append(head).Append(' ').Append(parts[5]).Append('\n');
                continue;
            }

            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }

    private static string MapsDiff(string kernel, string model)
    {
        var sb = new StringBuilder();
        var k = new HashSet<string>(kernel.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var m = new HashSet<string>(model.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (string line in kernel.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            sb.Append(m.Contains(line) ? "   " : " K ").Append(line).Append('\n');
        }

        foreach (string line in model.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!k.Contains(line))
            {
                sb.Append(" M ").Append(line).Append('\n');
            }
        }

        return sb.ToString();
    }
}
