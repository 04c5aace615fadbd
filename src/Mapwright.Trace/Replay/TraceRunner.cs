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

    private TraceRunner(TraceRunOptions options, TextWriter output, MmSyscalls sys)
    {
        _options = options;
        _out = output;
        Sys = sys;
    }

    public MmSyscalls Sys { get; }

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
            if (!IsExecutable(call.Name))
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
        or "maps" or "failpoint" or "openat" or "open" or "close" or "memfd_create" or "ftruncate"
        or "peek" or "poke" or "fpeek";

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

    /// <summary>Executes one syscall line without printing; null for lines that are not executed here.</summary>
    public SysResult? Step(TraceCall call)
    {
        if (call.Name == "failpoint")
        {
            Sys.Mm.FailPoints!.Arm(call.Args[0].Text, (int)call.Args[1].Value);
            return null;
        }

        if (IsSealFcntl(call))
        {
            ulong cmd = call.Args[1].Text == "F_ADD_SEALS" ? MmSyscalls.FAddSeals : MmSyscalls.FGetSeals;
            return Sys.FcntlSeals(SymbolValue(call.Args[0]), cmd, call.Args.Count > 2 ? SymbolValue(call.Args[2]) : 0);
        }

        return IsExecutable(call.Name) && call.Name != "maps" ? Execute(call) : null;
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
        ulong A(int i) => call.Args[i].Value;
        signal = Signal.None;
        result = SysResult.Ok(0);
        switch (call.Name)
        {
            case "peek":
                signal = Sys.Peek(A(0), A(1), out ulong hash);
                result = SysResult.Ok(hash);
                return signal != Signal.None ? signal.ToString() : "0x" + hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);
            case "poke":
                signal = Sys.Poke(A(0), A(1), (byte)A(2));
                return signal != Signal.None ? signal.ToString() : "0";
            default:
                result = Sys.Fpeek(A(0), A(1), A(2), out ulong fileHash);
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
        if (call.Name is "peek" or "poke" or "fpeek")
        {
            string printed = RunAccess(call, out Signal signal, out SysResult accessResult);
            _executed++;
            _out.Write(call.CallText + " = " + printed + "\n");
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
            SysResult r = Sys.FcntlSeals(SymbolValue(call.Args[0]), cmd, call.Args.Count > 2 ? SymbolValue(call.Args[2]) : 0);
            _executed++;
            _out.Write(call.CallText + " = " + r.Format(hex: cmd == MmSyscalls.FGetSeals) + "\n");
            CompareResult(call, r, r.Format(hex: cmd == MmSyscalls.FGetSeals));
            return;
        }

        if (call.Name == "maps")
        {
            _out.Write("maps()\n");
            _out.Write(Sys.Mm.FormatMaps());
            return;
        }

        if (call.Name == "failpoint")
        {
            Sys.Mm.FailPoints!.Arm(call.Args[0].Text, (int)call.Args[1].Value);
            _out.Write(call.CallText + " = 0\n");
            return;
        }

        if (!IsExecutable(call.Name))
        {
            _skipped++;
            ReserveDescriptors(call);
            if (TraceSymbols.IsKnownCall(call.Name))
            {
                _out.Write($"# skipped {call.FileName}:{call.Line}: {call.Name} is not modelled yet\n");
            }

            return;
        }

        SysResult result = Execute(call);
        _executed++;
        bool hex = call.Name is "mmap" or "mremap" or "brk";
        string produced = result.Format(hex);
        _out.Write(call.CallText + " = " + produced + "\n");
        CompareResult(call, result, produced);
    }

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
    private void ReserveDescriptors(TraceCall call)
    {
        if (call.Result is not { Kind: TraceResultKind.Value } result)
        {
            return;
        }

        bool dupFd = call.Name == "fcntl" && call.Args.Count >= 2 && call.Args[1].Text.StartsWith("F_DUPFD", StringComparison.Ordinal);
        if ((s_fdResultCalls.Contains(call.Name) || dupFd) && result.Value >= 0 && result.Value < 1 << 20)
        {
            Sys.Files.InstallAt((int)result.Value, new Mapwright.Vfs.MappedFile(s_foreignInode, "anon_inode:[" + call.Name + "]", true, true));
        }
        else if (call.Name is "pipe" or "pipe2" or "socketpair" && result.Value == 0)
        {
            TraceArg fds = call.Args[call.Name == "socketpair" ? 3 : 0];
            foreach (string part in fds.Text.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int fd) && fd < 1 << 20)
                {
                    Sys.Files.InstallAt(fd, new Mapwright.Vfs.MappedFile(s_foreignInode, "pipe", true, true));
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

    private SysResult Execute(TraceCall call)
    {
        ulong A(int i) => call.Args[i].Value;
        return call.Name switch
        {
            "mmap" => Sys.Mmap(A(0), A(1), A(2), A(3), A(4), A(5)),
            "munmap" => Sys.Munmap(A(0), A(1)),
            "mprotect" => Sys.Mprotect(A(0), A(1), A(2)),
            "mremap" => Sys.Mremap(A(0), A(1), A(2), A(3), call.Args.Count > 4 ? A(4) : 0),
            "madvise" => Sys.Madvise(A(0), A(1), A(2)),
            "msync" => Sys.Msync(A(0), A(1), A(2)),
            "mlock" => Sys.Mlock(A(0), A(1)),
            "mlock2" => Sys.Mlock2(A(0), A(1), A(2)),
            "munlock" => Sys.Munlock(A(0), A(1)),
            "mlockall" => Sys.Mlockall(A(0)),
            "munlockall" => Sys.Munlockall(),
            "mincore" => Sys.Mincore(A(0), A(1), call.Args[2].Kind != TraceArgKind.Null && !(call.Args[2].Kind == TraceArgKind.Integer && A(2) == 0), null),
            "brk" => Sys.Brk(A(0)),
            "mseal" => Sys.Mseal(A(0), A(1), A(2)),
            "openat" => Sys.Openat(A(0), call.Args[1].Text, A(2), call.Args.Count > 3 ? A(3) : 0),
            "open" => Sys.Open(call.Args[0].Text, A(1), call.Args.Count > 2 ? A(2) : 0),
            "close" => Sys.Close(A(0)),
            "memfd_create" => Sys.MemfdCreate(call.Args[0].Text, A(1)),
            "ftruncate" => Sys.Ftruncate(A(0), A(1)),
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
