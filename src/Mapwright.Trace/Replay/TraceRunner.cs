using System.Globalization;
using Mapwright.Abi;
using Mapwright.FailPoints;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Runs a parsed trace against a model process and prints each call back with the result the model produced,
/// in strace's spelling (trace-format.md "Execution and output").
/// </summary>
public sealed class TraceRunner
{
    private readonly TraceRunOptions _options;
    private readonly TextWriter _out;
    private int _executed;
    private int _matched;
    private int _diverged;
    private int _skipped;

    /// <summary>Processes by trace PID (strace -f's prefix): the main process once a line names its PID, and
    /// every child a fork line created. Threads and vfork children share their creator's entry.</summary>
    private readonly Dictionary<int, MmSyscalls> _processes = [];
    private bool _mainPidKnown;
    private bool _mainExited;

    private TraceRunner(TraceRunOptions options, TextWriter output, MmSyscalls sys)
    {
        _options = options;
        _out = output;
        Sys = sys;
    }

    /// <summary>The main process: the one lines without a PID prefix run in.</summary>
    public MmSyscalls Sys { get; }

    /// <summary>
    /// The process a call runs in: its PID prefix names it (the first PID seen that no fork created is the main
    /// process's), and a line without a prefix runs in the main process. Null for a PID no fork of the trace
    /// created, or a process that exited.
    /// </summary>
    public MmSyscalls? ProcessOf(TraceCall call)
    {
        if (call.Pid is not int pid)
        {
            return _mainExited ? null : Sys;
        }

        if (_processes.TryGetValue(pid, out MmSyscalls? sys))
        {
            return sys;
        }

        if (!_mainPidKnown && !_mainExited)
        {
            _mainPidKnown = true;
            _processes[pid] = Sys;
            return Sys;
        }

        return null;
    }

    /// <summary>The trace PIDs of the live processes, with the process each runs in.</summary>
    public IReadOnlyDictionary<int, MmSyscalls> Processes => _processes;

    /// <summary>
    /// Builds the model process from the options. Returns null and fills <paramref name="errors"/> when the
    /// initial state is malformed.
    /// </summary>
    public static TraceRunner? Create(TraceRunOptions options, TextWriter output, List<TraceDiagnostic> errors)
    {
        var mm = new AddressSpace(options.Config);
        if (options.MmapBase is { } mmapBase)
        {
            mm.MmapBase = mmapBase;
        }

        if (options.BrkStart is { } brk)
        {
            mm.StartBrk = brk;
            mm.Brk = brk;
        }

        if (options.InitialMapsText is { } text)
        {
            errors.AddRange(InitialMaps.Load(mm, text, options.InitialMapsName));
            if (errors.Count != 0)
            {
                return null;
            }
        }

        mm.FailPoints = new FailPointSet();
        if (options.HookTrace)
        {
            mm.HookTracer = line => output.Write(line + "\n");
        }

        mm.CheckInvariants();
        return new TraceRunner(options, output, new MmSyscalls(mm));
    }

    /// <summary>Checks what the parser cannot: argument kinds and failure-point names. Runs before anything executes.</summary>
    public static List<TraceDiagnostic> Validate(TraceDocument doc)
    {
        var errors = new List<TraceDiagnostic>(doc.Errors);
        foreach (TraceCall call in doc.Calls)
        {
            // clone's and clone3's arguments are strace's structures: only CLONE_VM is looked for in them.
            if (!IsExecutable(call.Name) || IsProcessCall(call.Name))
            {
                continue;
            }

            if (call.Name == "failpoint")
            {
                if (call.Args[0].Kind != TraceArgKind.String)
                {
                    errors.Add(new(call.FileName, call.Line, "failpoint expects a quoted failure-point name"));
                }
                else if (!FailPointSet.IsKnown(call.Args[0].Text))
                {
                    errors.Add(new(call.FileName, call.Line, $"unknown failure point '{call.Args[0].Text}' (known: {string.Join(", ", FailPointSet.KnownPoints)})"));
                }

                if (call.Args[1].Kind != TraceArgKind.Integer || call.Args[1].Value == 0 || call.Args[1].Value > int.MaxValue)
                {
                    errors.Add(new(call.FileName, call.Line, "failpoint expects a hit number from 1"));
                }

                continue;
            }

            int stringArg = call.Name switch
            {
                "openat" => 1,
                "open" or "memfd_create" => 0,
                _ => -1,
            };
            for (int i = 0; i < call.Args.Count; i++)
            {
                bool vecArg = call.Name == "mincore" && i == 2;
                TraceArgKind kind = call.Args[i].Kind;
                if (i == stringArg)
                {
                    if (kind != TraceArgKind.String)
                    {
                        errors.Add(new(call.FileName, call.Line, $"argument {i + 1} of {call.Name} must be a quoted string"));
                    }

                    continue;
                }

                if (!vecArg && kind is TraceArgKind.String or TraceArgKind.Opaque)
                {
                    errors.Add(new(call.FileName, call.Line, $"argument {i + 1} of {call.Name} must be a number, NULL or flags, not '{call.Args[i].Text}'"));
                }
            }
        }

        errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        return errors;
    }

    private static bool IsExecutable(string name) => name is "mmap" or "munmap" or "mprotect" or "mremap" or "madvise"
        or "msync" or "mlock" or "mlock2" or "munlock" or "mlockall" or "munlockall" or "mincore" or "brk" or "mseal"
        or "maps" or "smaps" or "status" or "failpoint" or "openat" or "open" or "close" or "memfd_create" or "ftruncate"
        or "peek" or "poke" or "fpeek" or "fork" or "vfork" or "clone" or "clone3" or "exit" or "exit_group";

    private static bool IsProcessCall(string name) => name is "fork" or "vfork" or "clone" or "clone3";

    /// <summary>
    /// Runs a fork, vfork or clone line in <paramref name="sys"/>. A clone with CLONE_VM (a thread) and vfork share
    /// the caller's address space; the others fork it. The child's PID is the one the trace's result gives, or the
    /// next free one. Linux: kernel/fork.c kernel_clone().
    /// </summary>
    private SysResult RunProcessCall(MmSyscalls sys, TraceCall call)
    {
        int pid = call.Result is { Kind: TraceResultKind.Value, Value: > 0 and < int.MaxValue } r && !_processes.ContainsKey((int)r.Value)
            ? (int)r.Value
            : NextPid();
        bool sharesMm = call.Name == "vfork";
        foreach (TraceArg arg in call.Args)
        {
            sharesMm |= arg.Text.Contains("CLONE_VM", StringComparison.Ordinal);
        }

        if (!_mainPidKnown)
        {
            // The main process has no PID of its own in the trace: give it one no child takes.
            _mainPidKnown = true;
            _processes[call.Pid ?? (pid == 1 ? 2 : 1)] = Sys;
        }

        if (sharesMm)
        {
            _processes[pid] = sys;
            return SysResult.Ok((ulong)pid);
        }

        SysResult result = sys.Fork(out MmSyscalls? child);
        if (result.IsError)
        {
            return result;
        }

        _processes[pid] = child!;
        return SysResult.Ok((ulong)pid);
    }

    private int NextPid()
    {
        int max = 1;
        foreach (int p in _processes.Keys)
        {
            max = Math.Max(max, p);
        }

        return max + 1;
    }

    /// <summary>exit or exit_group: the PID is gone; its address space is torn down once no PID uses it.</summary>
    private void RunExit(MmSyscalls sys, TraceCall call)
    {
        if (call.Pid is int pid)
        {
            _processes.Remove(pid);
        }

        bool stillUsed = false;
        foreach (MmSyscalls other in _processes.Values)
        {
            stillUsed |= ReferenceEquals(other, sys);
        }

        if (ReferenceEquals(sys, Sys) && (call.Pid is null || !stillUsed))
        {
            _mainExited = true;
            _mainPidKnown = true;
            foreach (KeyValuePair<int, MmSyscalls> kv in _processes)
            {
                if (ReferenceEquals(kv.Value, Sys))
                {
                    _processes.Remove(kv.Key);
                }
            }

            stillUsed = false;
        }

        if (!stillUsed)
        {
            sys.Exit();
        }
    }

    /// <summary>Runs every call in order and returns the counts.</summary>
    public TraceRunSummary Run(TraceDocument doc)
    {
        foreach (TraceCall call in doc.Calls)
        {
            RunCall(call);
        }

        if (_options.HookTrace)
        {
            bool any = false;
            foreach (string leak in Sys.Devices.Leaks())
            {
                _out.Write("# leak: " + leak + "\n");
                any = true;
            }

            if (!any)
            {
                _out.Write("# leaks: none\n");
            }
        }

        return new TraceRunSummary(_executed, _matched, _diverged, _skipped);
    }

    /// <summary>Executes one syscall line without printing; null for lines that are not executed here (pseudo-calls,
    /// skipped calls, exits, and lines of a PID that is not a live process).</summary>
    public SysResult? Step(TraceCall call)
    {
        MmSyscalls? sys = ProcessOf(call);
        if (sys is null)
        {
            return null;
        }

        if (call.Name == "failpoint")
        {
            sys.Mm.FailPoints!.Arm(call.Args[0].Text, (int)call.Args[1].Value);
            return null;
        }

        if (IsSealFcntl(call))
        {
            ulong cmd = call.Args[1].Text == "F_ADD_SEALS" ? MmSyscalls.FAddSeals : MmSyscalls.FGetSeals;
            return sys.FcntlSeals(SymbolValue(call.Args[0]), cmd, call.Args.Count > 2 ? SymbolValue(call.Args[2]) : 0);
        }

        if (IsProcessCall(call.Name))
        {
            return RunProcessCall(sys, call);
        }

        if (call.Name is "exit" or "exit_group")
        {
            RunExit(sys, call);
            return null;
        }

        if (call.Name is "peek" or "poke" or "fpeek")
        {
            // The access's result: the hash (peek, fpeek) or 0; a signal shows as a result of 0 here, use
            // RunAccess for it.
            RunAccess(sys, call, out _, out SysResult accessResult);
            return accessResult;
        }

        return IsExecutable(call.Name) && call.Name is not ("maps" or "smaps" or "status") ? Execute(sys, call) : null;
    }

    /// <summary>fcntl is executed for memfd seals only; other commands are skipped.</summary>
    private static bool IsSealFcntl(TraceCall call) =>
        call.Name == "fcntl" && call.Args.Count >= 2 && call.Args[1].Text is "F_ADD_SEALS" or "F_GET_SEALS";

    private static ulong SymbolValue(TraceArg arg)
    {
        if (arg.Kind != TraceArgKind.Opaque)
        {
            return arg.Value;
        }

        ulong value = 0;
        foreach (string term in arg.Text.Split('|', StringSplitOptions.TrimEntries))
        {
            if (TraceSymbols.TryGet(term, out ulong v))
            {
                value |= v;
            }
            else if (TraceRunner.TryParseAddress(term, out ulong n))
            {
                value |= n;
            }
        }

        return value;
    }

    /// <summary>Runs peek, poke or fpeek; returns the printed result (a hash, 0, a signal name or an error).</summary>
    public string RunAccess(TraceCall call, out Signal signal, out SysResult result)
    {
        MmSyscalls sys = ProcessOf(call) ?? throw new InvalidOperationException($"line {call.Line}: pid {call.Pid} is not a live process");
        return RunAccess(sys, call, out signal, out result);
    }

    private static string RunAccess(MmSyscalls sys, TraceCall call, out Signal signal, out SysResult result)
    {
        ulong A(int i) => call.Args[i].Value;
        signal = Signal.None;
        result = SysResult.Ok(0);
        switch (call.Name)
        {
            case "peek":
                signal = sys.Peek(A(0), A(1), out ulong hash);
                result = SysResult.Ok(hash);
                return signal != Signal.None ? signal.ToString() : "0x" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            case "poke":
                signal = sys.Poke(A(0), A(1), (byte)A(2));
                return signal != Signal.None ? signal.ToString() : "0";
            default:
                result = sys.Fpeek(A(0), A(1), A(2), out ulong fileHash);
                if (result.IsError)
                {
                    return result.Format(hex: false);
                }

                result = SysResult.Ok(fileHash);
                return "0x" + fileHash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private void RunCall(TraceCall call)
    {
        MmSyscalls? sys = ProcessOf(call);
        if (sys is null)
        {
            _skipped++;
            _out.Write($"# skipped {call.FileName}:{call.Line}: pid {call.Pid?.ToString(CultureInfo.InvariantCulture) ?? "(main)"} is not a live process of this trace (no fork line created it, or it exited)\n");
            return;
        }

        if (call.Name is "peek" or "poke" or "fpeek")
        {
            string printed = RunAccess(sys, call, out Signal signal, out SysResult accessResult);
            _executed++;
            _out.Write(Echo(call) + " = " + printed + "\n");
            if (_options.Check && call.Result is { } want && want.Kind != TraceResultKind.Unknown)
            {
                bool same = want.Kind switch
                {
                    TraceResultKind.Signal => signal.ToString() == want.Signal,
                    TraceResultKind.Error => signal == Signal.None && accessResult.IsError && accessResult.Errno == want.Errno,
                    TraceResultKind.Value => signal == Signal.None && !accessResult.IsError && (call.Name == "poke" ? want.Value == 0 : unchecked((ulong)want.Value) == accessResult.Value),
                    _ => false,
                };
                if (same)
                {
                    _matched++;
                }
                else
                {
                    _diverged++;
                    _out.Write($"# diverged {call.FileName}:{call.Line}: expected {want.Text}, produced {printed}\n");
                }
            }

            return;
        }

        if (IsSealFcntl(call))
        {
            ulong cmd = call.Args[1].Text == "F_ADD_SEALS" ? MmSyscalls.FAddSeals : MmSyscalls.FGetSeals;
            SysResult r = sys.FcntlSeals(SymbolValue(call.Args[0]), cmd, call.Args.Count > 2 ? SymbolValue(call.Args[2]) : 0);
            _executed++;
            _out.Write(Echo(call) + " = " + r.Format(hex: cmd == MmSyscalls.FGetSeals) + "\n");
            CompareResult(call, r, r.Format(hex: cmd == MmSyscalls.FGetSeals));
            return;
        }

        if (call.Name == "maps")
        {
            _out.Write(call.Pid is int mp ? $"{mp} maps()\n" : "maps()\n");
            _out.Write(sys.Mm.FormatMaps());
            return;
        }

        if (call.Name == "smaps")
        {
            _out.Write(call.Pid is int sp ? $"{sp} smaps()\n" : "smaps()\n");
            _out.Write(sys.Mm.FormatSmaps());
            return;
        }

        if (call.Name == "status")
        {
            _out.Write(call.Pid is int tp ? $"{tp} status()\n" : "status()\n");
            _out.Write(sys.Mm.FormatStatus());
            return;
        }

        if (call.Name is "exit" or "exit_group")
        {
            RunExit(sys, call);
            _executed++;
            _out.Write(Echo(call) + " = ?\n");
            return;
        }

        if (IsProcessCall(call.Name))
        {
            SysResult forked = RunProcessCall(sys, call);
            _executed++;
            string printedPid = forked.Format(hex: false);
            _out.Write(Echo(call) + " = " + printedPid + "\n");
            CompareResult(call, forked, printedPid);
            return;
        }

        if (call.Name == "failpoint")
        {
            sys.Mm.FailPoints!.Arm(call.Args[0].Text, (int)call.Args[1].Value);
            _out.Write(Echo(call) + " = 0\n");
            return;
        }

        if (!IsExecutable(call.Name))
        {
            _skipped++;
            ReserveDescriptors(sys, call);
            if (TraceSymbols.IsKnownCall(call.Name))
            {
                _out.Write($"# skipped {call.FileName}:{call.Line}: {call.Name} is not modelled yet\n");
            }

            return;
        }

        SysResult result = Execute(sys, call);
        _executed++;
        bool hex = call.Name is "mmap" or "mremap" or "brk";
        string produced = result.Format(hex);
        _out.Write(Echo(call) + " = " + produced + "\n");
        CompareResult(call, result, produced);
    }

    /// <summary>The call as written, with its PID prefix when it has one.</summary>
    private static string Echo(TraceCall call) => call.Pid is int pid ? pid.ToString(CultureInfo.InvariantCulture) + " " + call.CallText : call.CallText;

    private void CompareResult(TraceCall call, SysResult result, string produced)
    {
        if (_options.Check && call.Result is { } expected && expected.Kind != TraceResultKind.Unknown)
        {
            if (Matches(expected, result))
            {
                _matched++;
            }
            else
            {
                _diverged++;
                _out.Write($"# diverged {call.FileName}:{call.Line}: expected {expected.Text}, produced {produced}\n");
            }
        }
    }

    /// <summary>Calls a replay skips that create file descriptors: their fd numbers are taken from the trace.</summary>
    private static readonly HashSet<string> s_fdResultCalls = new(StringComparer.Ordinal)
    {
        "eventfd", "eventfd2", "epoll_create", "epoll_create1", "socket", "dup", "dup2", "dup3", "inotify_init",
        "inotify_init1", "signalfd", "signalfd4", "timerfd_create", "userfaultfd", "memfd_secret", "pidfd_open",
        "accept", "accept4", "perf_event_open", "io_uring_setup", "fanotify_init", "open_tree", "fsopen", "creat",
        "name_to_handle_at", "open_by_handle_at",
    };

    private static readonly Mapwright.Vfs.Inode s_foreignInode = new(0, 0x0e, 1) { IsDevice = true, Fop = new Mapwright.Vfs.FileOperations { Name = "anon_inode" } };

    /// <summary>
    /// Keeps descriptor numbers in step with the traced process: a skipped call that returned a descriptor
    /// (or, for pipe/pipe2/socketpair, wrote two into its array) occupies it with a foreign file, which has
    /// no mmap hook (ENODEV), as an eventfd or a pipe has none.
    /// </summary>
    private static void ReserveDescriptors(MmSyscalls sys, TraceCall call)
    {
        if (call.Result is not { Kind: TraceResultKind.Value } result)
        {
            return;
        }

        bool dupFd = call.Name == "fcntl" && call.Args.Count >= 2 && call.Args[1].Text.StartsWith("F_DUPFD", StringComparison.Ordinal);
        if ((s_fdResultCalls.Contains(call.Name) || dupFd) && result.Value >= 0 && result.Value < 1 << 20)
        {
            sys.Files.InstallAt((int)result.Value, new Mapwright.Vfs.MappedFile(s_foreignInode, "anon_inode:[" + call.Name + "]", true, true));
        }
        else if (call.Name is "pipe" or "pipe2" or "socketpair" && result.Value == 0)
        {
            TraceArg fds = call.Args[call.Name == "socketpair" ? 3 : 0];
            foreach (string part in fds.Text.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd) && fd < 1 << 20)
                {
                    sys.Files.InstallAt(fd, new Mapwright.Vfs.MappedFile(s_foreignInode, "pipe", true, true));
                }
            }
        }
    }

    private static bool Matches(TraceResult expected, SysResult produced) => expected.Kind switch
    {
        TraceResultKind.Error => produced.IsError && produced.Errno == expected.Errno,
        TraceResultKind.Value => !produced.IsError && produced.Raw == expected.Value,
        _ => false,
    };

    private static SysResult Execute(MmSyscalls sys, TraceCall call)
    {
        ulong A(int i) => call.Args[i].Value;
        return call.Name switch
        {
            "mmap" => sys.Mmap(A(0), A(1), A(2), A(3), A(4), A(5)),
            "munmap" => sys.Munmap(A(0), A(1)),
            "mprotect" => sys.Mprotect(A(0), A(1), A(2)),
            "mremap" => sys.Mremap(A(0), A(1), A(2), A(3), call.Args.Count > 4 ? A(4) : 0),
            "madvise" => sys.Madvise(A(0), A(1), A(2)),
            "msync" => sys.Msync(A(0), A(1), A(2)),
            "mlock" => sys.Mlock(A(0), A(1)),
            "mlock2" => sys.Mlock2(A(0), A(1), A(2)),
            "munlock" => sys.Munlock(A(0), A(1)),
            "mlockall" => sys.Mlockall(A(0)),
            "munlockall" => sys.Munlockall(),
            "mincore" => sys.Mincore(A(0), A(1), call.Args[2].Kind != TraceArgKind.Null && !(call.Args[2].Kind == TraceArgKind.Integer && A(2) == 0), null),
            "brk" => sys.Brk(A(0)),
            "mseal" => sys.Mseal(A(0), A(1), A(2)),
            "openat" => sys.Openat(A(0), call.Args[1].Text, A(2), call.Args.Count > 3 ? A(3) : 0),
            "open" => sys.Open(call.Args[0].Text, A(1), call.Args.Count > 2 ? A(2) : 0),
            "close" => sys.Close(A(0)),
            "memfd_create" => sys.MemfdCreate(call.Args[0].Text, A(1)),
            "ftruncate" => sys.Ftruncate(A(0), A(1)),
            _ => throw new InvalidOperationException("unreachable: " + call.Name),
        };
    }

    /// <summary>Parses a hex (0x...) or decimal address option.</summary>
    public static bool TryParseAddress(string text, out ulong value)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out value);
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
