using System.Globalization;
using Mapwright.Abi;
using Mapwright.Drivers;
using Mapwright.FailPoints;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Runs the calls of a trace, one <see cref="CallLine"/> at a time, against model processes, and hands one
/// <see cref="Outcome"/> per call to its sinks. It holds the process table (strace <c>-f</c> PIDs to model
/// processes), compares written results under <c>--check</c> and keeps the summary counts. The CLI and the
/// differential tests drive this same engine.
/// </summary>
public sealed partial class ReplayEngine
{
    private readonly TraceRunOptions _options;
    private readonly List<IOutcomeSink> _sinks = [];
    private Outcome? _outcome;
    private int _executed;
    private int _matched;
    private int _diverged;
    private int _skipped;

    /// <summary>Processes by trace PID: the main process once a line names its PID, and every child a fork line
    /// created. Threads (CLONE_FILES) share their creator's entry; a vfork child has its own over the shared
    /// address space (its own descriptor table and working directory).</summary>
    private readonly Dictionary<int, MmSyscalls> _processes = [];

    /// <summary>The thread group leader of each PID a clone with CLONE_THREAD created (others lead their own).</summary>
    private readonly Dictionary<int, int> _leaderOf = [];
    private bool _mainPidKnown;
    private bool _mainExited;

    private ReplayEngine(TraceRunOptions options, Machine machine, ExampleDevices devices, MmSyscalls main)
    {
        _options = options;
        Machine = machine;
        Devices = devices;
        Main = main;
    }

    /// <summary>The machine the trace runs on. Immutable after construction.</summary>
    public Machine Machine { get; }

    /// <summary>The example drivers of /dev/mapwright/ (and their leak report), registered on the machine.
    /// Immutable after construction.</summary>
    public ExampleDevices Devices { get; }

    /// <summary>The main process: the one lines without a PID prefix run in.</summary>
    public MmSyscalls Main { get; }

    /// <summary>The trace PIDs of the live processes, with the process each runs in.</summary>
    public IReadOnlyDictionary<int, MmSyscalls> Processes => _processes;

    public TraceRunOptions Options => _options;

    /// <summary>The counts so far.</summary>
    public TraceRunSummary Counts => new(_executed, _matched, _diverged, _skipped);

    /// <summary>
    /// Builds the main process from the options. Returns null and fills <paramref name="errors"/> when the initial
    /// state (the initial maps) is malformed.
    /// </summary>
    public static ReplayEngine? Create(TraceRunOptions options, List<TraceDiagnostic> errors)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(errors);
        var machine = new Machine();
        var devices = new ExampleDevices(machine.Devices);
        AddressSpace mm = machine.NewAddressSpace(options.Config);
        if (options.MmapBase is { } mmapBase)
        {
            mm.PickMmapLayout(mmapBase);
        }

        if (options.BrkStart is { } brk)
        {
            using (mm.MmapLock.Read())
            {
                mm.PrctlSetMmBrk(brk, brk);
            }
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
        var engine = new ReplayEngine(options, machine, devices, machine.NewProcess(mm));
        if (options.HookTrace)
        {
            mm.HookTracer = engine.OnHookLine;
        }

        mm.CheckInvariants();
        return engine;
    }

    /// <summary>Adds a consumer of the outcomes.</summary>
    public void AddSink(IOutcomeSink sink) => _sinks.Add(sink);

    /// <summary>Runs one call and hands its outcome to every sink; returns it (valid until the next call).</summary>
    public Outcome Step(CallLine call)
    {
        ArgumentNullException.ThrowIfNull(call);
        Outcome o = _outcome ??= new Outcome(call);
        o.Call = call;
        o.Reset();
        if (call.IsEntry)
        {
            // Not a call of its own: neither shown nor counted.
            Enter(call);
            o.Kind = OutcomeKind.Skipped;
            return o;
        }

        Run(call, o);
        for (int i = 0; i < _sinks.Count; i++)
        {
            _sinks[i].OnOutcome(o);
        }

        return o;
    }

    /// <summary>Ends the run: the summary (and, with <c>--hook-trace</c>, the leak report) to every sink.</summary>
    public ReplaySummary Finish()
    {
        List<string>? leaks = null;
        if (_options.HookTrace)
        {
            leaks = [.. Devices.Leaks()];
        }

        var summary = new ReplaySummary(Counts, leaks);
        foreach (IOutcomeSink sink in _sinks)
        {
            sink.OnEnd(summary);
        }

        return summary;
    }

    private const ulong MapAnonymous = 0x20;

    /// <summary>Descriptors reserved at the entry of a call still in flight, by the PID of its thread (one call at a
    /// time per thread).</summary>
    private readonly Dictionary<int, Entered> _entered = [];

    private sealed record Entered(Mapwright.Vfs.FdTable Table, int Line, int[] Fds)
    {
        public void PutUnused()
        {
            foreach (int fd in Fds)
            {
                if (fd >= 0)
                {
                    Table.PutUnused(fd);
                }
            }
        }
    }

    /// <summary>A call that takes descriptors on entry entered (its <c>&lt;unfinished ...&gt;</c> line): the lowest free
    /// numbers are taken now, as Linux takes them before the call can block, so that calls of other threads that
    /// return first number theirs around them. Linux: get_unused_fd_flags().</summary>
    private void Enter(CallLine call)
    {
        MmSyscalls? sys = ProcessOf(call.Pid) ?? AdoptMainPid(call);
        if (sys is null || call.Row is not { DescriptorsAtEntry: > 0 } row)
        {
            return;
        }

        int key = call.Pid ?? 0;
        if (_entered.Remove(key, out Entered? stale))
        {
            stale.PutUnused();
        }

        int[] fds = new int[row.DescriptorsAtEntry];
        for (int i = 0; i < fds.Length; i++)
        {
            fds[i] = sys.Files.ReserveUnused();
        }

        _entered[key] = new Entered(sys.Files, call.Line, fds);
    }

    /// <summary>
    /// The number a call that was in flight returns with. Linux takes it when the call runs: at its entry for a call
    /// that then blocks (the reservation), or after the calls of other threads that strace printed meanwhile if the
    /// thread only reached the kernel's allocation then (a ptrace stop sits between strace's entry line and the
    /// call's work). Both are the lowest free number of their moment; the log's result tells which moment it was,
    /// and any other number is left to diverge. Calls outside the model (sockets, pipes) take the log's numbers.
    /// </summary>
    private static void ClaimEntered(Entered entered, SyscallRow row, CallLine call)
    {
        int atEntry = entered.Fds[0];
        entered.PutUnused();
        if (row.Category == CallCategory.Descriptor || atEntry < 0)
        {
            // A number yielded to another thread's call (YieldReservation): the call numbers at its return.
            return;
        }

        int atReturn = entered.Table.LowestUnused();
        bool later = atReturn != atEntry && call.HasResult && call.ResultKind == TraceResultKind.Value && call.ResultValue == atReturn;
        entered.Table.Claim(later ? atReturn : atEntry);
    }

    /// <summary>
    /// A call that returns a number another thread's call in flight holds shows that call had not reached the
    /// allocation yet (its thread was still held at strace's entry stop): the reservation yields, and the call in
    /// flight is numbered at its return. Linux: fs/file.c alloc_fd() runs when the call does, not when strace
    /// prints its entry.
    /// </summary>
    private void YieldReservation(Mapwright.Vfs.FdTable table, CallLine call)
    {
        if (!call.HasResult || call.ResultKind != TraceResultKind.Value || call.ResultValue is < 0 or >= int.MaxValue)
        {
            return;
        }

        int fd = (int)call.ResultValue;
        foreach (Entered other in _entered.Values)
        {
            int i = other.Table == table ? Array.IndexOf(other.Fds, fd) : -1;
            if (i >= 0)
            {
                table.PutUnused(fd);
                other.Fds[i] = -1;
            }
        }
    }

    /// <summary>A thread that ends with a call in flight never returns from it: its descriptors are free again.
    /// Linux: the aborted call's put_unused_fd().</summary>
    private void GiveBackEntered(int pid)
    {
        if (_entered.Remove(pid, out Entered? entered))
        {
            entered.PutUnused();
        }
    }

    /// <summary>The reservation made at this call's entry (its unfinished half is on <see cref="CallLine.Line"/>), or
    /// null. A reservation of the same thread for another call is given back: that call never returned.</summary>
    private Entered? TakeEntered(CallLine call)
    {
        if (_entered.Count == 0 || !_entered.Remove(call.Pid ?? 0, out Entered? entered))
        {
            return null;
        }

        if (entered.Line != call.Line)
        {
            entered.PutUnused();
            return null;
        }

        return entered;
    }

    private void Run(CallLine call, Outcome o)
    {
        MmSyscalls? sys = ProcessOf(call.Pid) ?? AdoptMainPid(call);
        SyscallRow? row = call.Row;
        if (sys is null)
        {
            o.Kind = OutcomeKind.Skipped;
            string pid = "pid " + (call.Pid?.ToString(CultureInfo.InvariantCulture) ?? "(main)");
            o.SkipReason = call.Pid is int ended && _ended.Contains(ended) && call.HasResult && call.ResultKind == TraceResultKind.Unknown
                ? pid + " ended while this call was in flight: it never returned (= ?)"
                : pid + " is not a live process of this trace (no fork line created it, or it exited)";
            _skipped++;
            return;
        }

        o.Process = sys;
        if (row is null)
        {
            o.Kind = OutcomeKind.Skipped;
            _skipped++;
            return;
        }

        o.Spelling = row.Spelling;
        if (row.Category == CallCategory.File || (call.ArgCount > 4 && row.Name == "mmap" && (call.Arg(3) & MapAnonymous) == 0))
        {
            // Calls that take or give descriptors (the memory calls take none, but for a file mmap's).
            InheritedDescriptors.BeforeCall(sys, call);
        }

        string? refusal = null;
        PlacementToFollow? follow = _options.FollowAddresses ? AddressFollower.Before(sys, call, _options, out refusal) : null;
        Entered? entered = TakeEntered(call);
        if (_entered.Count > 0 && row.DescriptorsAtEntry > 0)
        {
            YieldReservation(sys.Files, call);
        }

        if (entered is not null)
        {
            ClaimEntered(entered, row, call);
        }

        try
        {
            row.Executor(this, sys, call, o);
        }
        finally
        {
            entered?.Table.EndClaim();
        }

        o.FollowRefusal = follow is not null ? AddressFollower.After(sys, follow, call, o.Result) : refusal;
        switch (o.Kind)
        {
            case OutcomeKind.Executed:
                _executed++;
                Compare(call, o);
                if (row.Category == CallCategory.Memory)
                {
                    NoteOverlap(sys, call, o);
                }

                break;
            case OutcomeKind.NoReturn:
                _executed++;
                break;
            case OutcomeKind.Skipped:
                _skipped++;
                break;
            default:
                break;
        }
    }

    /// <summary>Memory calls of the last few lines per address space: (PID, line of the result).</summary>
    private readonly Dictionary<Mapwright.Mm.AddressSpace, Queue<(int Pid, int EndLine)>> _recentCalls = [];

    private const int RecentCallsKept = 16;

    /// <summary>
    /// A memory call whose time in the kernel overlapped a call of another thread of the same address space
    /// (strace printed one of them <c>&lt;unfinished ...&gt;</c> around the other): the kernel ran them in an order the
    /// log cannot show, and the replay ran them in the order of their results. A divergence there says so.
    /// </summary>
    private void NoteOverlap(MmSyscalls sys, CallLine call, Outcome o)
    {
        if (call.Pid is not int pid)
        {
            return;
        }

        Mapwright.Mm.AddressSpace mm = sys.Mm;
        if (!_recentCalls.TryGetValue(mm, out Queue<(int Pid, int EndLine)>? recent))
        {
            _recentCalls[mm] = recent = new Queue<(int Pid, int EndLine)>();
        }

        if (o.Verdict == Verdict.Diverged)
        {
            var others = new SortedSet<int>();
            foreach ((int Pid, int EndLine) r in recent)
            {
                if (r.Pid != pid && r.EndLine > call.Line)
                {
                    others.Add(r.Pid);
                }
            }

            foreach (int other in call.InFlightPids)
            {
                if (_processes.TryGetValue(other, out MmSyscalls? t) && ReferenceEquals(t.Mm, mm))
                {
                    others.Add(other);
                }
            }

            if (others.Count != 0)
            {
                o._notes.Add("order undetermined: this call overlapped calls of " + (others.Count == 1 ? "thread " : "threads ")
                    + string.Join(", ", others) + " on the same address space; the kernel may have run them in another order than the replay (the order of their results)");
            }
        }

        recent.Enqueue((pid, call.EndLine));
        if (recent.Count > RecentCallsKept)
        {
            recent.Dequeue();
        }
    }

    private void Compare(CallLine call, Outcome o)
    {
        if (o.FollowRefusal is not null)
        {
            // The logged result was read to follow it, and Linux could not have given it here.
            _diverged++;
            o.Verdict = Verdict.Diverged;
            return;
        }

        if (!_options.Check || !call.HasResult || call.ResultKind == TraceResultKind.Unknown)
        {
            return;
        }

        bool same;
        if (o.Spelling == ResultSpelling.Access)
        {
            same = call.ResultKind switch
            {
                TraceResultKind.Signal => o.Signal != Signal.None && (o.Signal == Signal.SIGSEGV ? "SIGSEGV" : "SIGBUS") == call.ResultSignal,
                TraceResultKind.Error => o.Signal == Signal.None && o.Result.IsError && o.Result.Errno == call.ResultErrno,
                TraceResultKind.Value => o.Signal == Signal.None && !o.Result.IsError
                    && (call.Name == "poke" ? call.ResultValue == 0 : unchecked((ulong)call.ResultValue) == o.Result.Value),
                _ => false,
            };
        }
        else
        {
            same = call.ResultKind switch
            {
                TraceResultKind.Error => o.Result.IsError && o.Result.Errno == call.ResultErrno,
                TraceResultKind.Value => !o.Result.IsError && o.Result.Raw == call.ResultValue,
                _ => false,
            };

            // mincore's vector is a result too, where the log printed one.
            if (same && call.Name == "mincore" && !o.Result.IsError && o.MincoreVector.Count != 0
                && MincoreVectorText.IsWrittenVector(call.ArgText(2)))
            {
                same = MincoreVectorText.Matches(call.ArgText(2), o.MincoreVector);
            }
        }

        if (same)
        {
            _matched++;
            o.Verdict = Verdict.Matched;
        }
        else
        {
            _diverged++;
            o.Verdict = Verdict.Diverged;
        }
    }

    private void OnHookLine(string line) => _outcome?._hookLines.Add(line);

    /// <summary>
    /// The process a line runs in: its PID prefix names it (the first PID seen that no fork created is the main
    /// process's), and a line without a prefix runs in the main process. Null for a PID no fork of the trace
    /// created, or a process that exited.
    /// </summary>
    public MmSyscalls? ProcessOf(int? linePid)
    {
        if (linePid is not int pid)
        {
            return _mainExited ? null : Main;
        }

        if (_processes.TryGetValue(pid, out MmSyscalls? sys))
        {
            return sys;
        }

        if (!_mainPidKnown && !_mainExited)
        {
            _mainPidKnown = true;
            _processes[pid] = Main;
            return Main;
        }

        return null;
    }

    /// <summary>
    /// strace writing to standard error: the main process's lines had no prefix until it forked (it was given a PID
    /// of the replay's), and from then on it prints <c>[pid N]</c> too. The first unknown bracketed PID that speaks
    /// afterwards is the main process's own: its children were made by their spawn lines.
    /// </summary>
    private MmSyscalls? AdoptMainPid(CallLine call)
    {
        if (call.PidBracketed && call.Pid is int pid && _mainPidMadeUp is int madeUp && !_mainExited && !_ended.Contains(pid))
        {
            _processes.Remove(madeUp);
            _processes[pid] = Main;
            _mainPidMadeUp = null;
            return Main;
        }

        return null;
    }

    /// <summary>The PID the replay gave the main process when a spawn line without a PID prefix needed one.</summary>
    private int? _mainPidMadeUp;

    /// <summary>PIDs that exited (or ended with their thread group): never the main process's.</summary>
    private readonly HashSet<int> _ended = [];

    /// <summary>
    /// A fork, vfork or clone in <paramref name="sys"/>. A clone with CLONE_VM (a thread) and vfork share the
    /// caller's address space; the others fork it. The child's PID is the one the trace's result gives, or the next
    /// free one. Linux: kernel/fork.c kernel_clone().
    /// </summary>
    internal SysResult Spawn(MmSyscalls sys, CallLine call)
    {
        int pid = call.HasResult && call.ResultKind == TraceResultKind.Value && call.ResultValue is > 0 and < int.MaxValue
            && !_processes.ContainsKey((int)call.ResultValue)
            ? (int)call.ResultValue
            : NextPid();
        bool sharesMm = call.Name == "vfork";
        for (int i = 0; i < call.ArgCount; i++)
        {
            sharesMm |= call.ArgText(i).IndexOf("CLONE_VM", StringComparison.Ordinal) >= 0;
        }

        if (!_mainPidKnown)
        {
            // The main process has no PID of its own in the trace: give it one no child takes.
            _mainPidKnown = true;
            int mainPid = call.Pid ?? (pid == 1 ? 2 : 1);
            _processes[mainPid] = Main;
            if (call.Pid is null)
            {
                _mainPidMadeUp = mainPid;
            }

        }

        _leaderOf.Remove(pid);
        if (sharesMm)
        {
            // A thread (CLONE_FILES) shares the descriptor table and working directory too; a vfork child, or a
            // clone with CLONE_VM alone, gets its own copy of them over the shared address space.
            // Linux: kernel/fork.c copy_files(), copy_fs().
            _processes[pid] = HasFlag(call, "CLONE_FILES") ? sys : sys.ShareAddressSpace();
            if (call.Pid is int parent && HasFlag(call, "CLONE_THREAD"))
            {
                _leaderOf[pid] = LeaderOf(parent);
            }

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

    private static bool HasFlag(CallLine call, string flag)
    {
        for (int i = 0; i < call.ArgCount; i++)
        {
            if (call.ArgText(i).IndexOf(flag, StringComparison.Ordinal) >= 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The thread group leader of <paramref name="pid"/> (itself unless a CLONE_THREAD clone made it).</summary>
    private int LeaderOf(int pid) => _leaderOf.TryGetValue(pid, out int leader) ? leader : pid;

    /// <summary>Every other PID of <paramref name="pid"/>'s thread group leaves the process table (exit_group, and
    /// an execve, which ends the other threads). Linux: kernel/exit.c do_group_exit(), fs/exec.c de_thread().</summary>
    private void EndOtherThreads(int pid)
    {
        int leader = LeaderOf(pid);
        foreach (int other in _processes.Keys.ToList())
        {
            if (other != pid && LeaderOf(other) == leader)
            {
                _processes.Remove(other);
                _leaderOf.Remove(other);
                _ended.Add(other);
                GiveBackEntered(other);
            }
        }

        _leaderOf.Remove(pid);
    }

    /// <summary>exit or exit_group: the PID is gone (with exit_group, its whole thread group); its address space is
    /// torn down once no PID uses it.</summary>
    internal void Exit(MmSyscalls sys, CallLine call)
    {
        if (call.Pid is int pid)
        {
            if (call.Name == "exit_group")
            {
                EndOtherThreads(pid);
            }

            _processes.Remove(pid);
            _leaderOf.Remove(pid);
            _ended.Add(pid);
            GiveBackEntered(pid);
        }

        bool stillUsed = false;
        foreach (MmSyscalls other in _processes.Values)
        {
            stillUsed |= ReferenceEquals(other, sys);
        }

        if (ReferenceEquals(sys, Main) && (call.Pid is null || !stillUsed))
        {
            _mainExited = true;
            _mainPidKnown = true;
            foreach (KeyValuePair<int, MmSyscalls> kv in _processes)
            {
                if (ReferenceEquals(kv.Value, Main))
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
}
