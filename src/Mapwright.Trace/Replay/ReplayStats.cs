using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Statistics of a run (<c>--stats</c>): calls by name with their errors by errno, skipped calls by name, and each
/// address space's peaks (VMAs, mapped size, resident size) with the merges and splits the model performed in it,
/// which Linux does not count.
/// </summary>
public sealed class ReplayStats : IOutcomeSink
{
    private readonly Dictionary<string, CallStat> _calls = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _skipped = new(StringComparer.Ordinal);
    private readonly Dictionary<MmSyscalls, ProcessPeaks> _processes = new(ReferenceEqualityComparer.Instance);
    private readonly List<ProcessPeaks> _order = [];

    /// <summary>Executed calls by name, most frequent first.</summary>
    public IReadOnlyList<CallStat> Calls => [.. _calls.Values.OrderByDescending(c => c.Count).ThenBy(c => c.Name, StringComparer.Ordinal)];

    /// <summary>Skipped calls by name, most frequent first.</summary>
    public IReadOnlyList<KeyValuePair<string, int>> Skipped =>
        [.. _skipped.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)];

    /// <summary>Each address space the run used, in the order it first ran a call.</summary>
    public IReadOnlyList<ProcessPeaks> Processes => _order;

    public void OnOutcome(Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        string name = outcome.Call.Name;
        if (outcome.Kind == OutcomeKind.Skipped)
        {
            _skipped[name] = _skipped.GetValueOrDefault(name) + 1;
        }
        else if (outcome.Kind is OutcomeKind.Executed or OutcomeKind.NoReturn)
        {
            if (!_calls.TryGetValue(name, out CallStat? stat))
            {
                stat = new CallStat(name);
                _calls[name] = stat;
            }

            stat.Count++;
            if (outcome.Signal == Signal.None && outcome.Result.IsError)
            {
                stat.AddError(outcome.Result.Errno);
            }
            else if (outcome.Signal != Signal.None)
            {
                stat.AddSignal(outcome.Signal);
            }
        }

        if (outcome.Process is { } sys)
        {
            if (!_processes.TryGetValue(sys, out ProcessPeaks? peaks))
            {
                peaks = new ProcessPeaks(outcome.Call.Pid);
                _processes[sys] = peaks;
                _order.Add(peaks);
            }

            peaks.Sample(sys.Mm);
        }
    }

    public void OnEnd(ReplaySummary summary)
    {
    }

    /// <summary>One call name's counts.</summary>
    public sealed class CallStat
    {
        private readonly Dictionary<string, int> _errors = new(StringComparer.Ordinal);

        internal CallStat(string name)
        {
            Name = name;
        }

        public string Name { get; }

        public int Count { get; internal set; }

        /// <summary>Calls that failed (an errno) or, for an access, ended in a signal.</summary>
        public int Errors { get; private set; }

        /// <summary>Failures by errno or signal name, most frequent first.</summary>
        public IReadOnlyList<KeyValuePair<string, int>> ErrorsByName =>
            [.. _errors.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal)];

        internal void AddError(Errno errno) => Add(errno.ToString());

        internal void AddSignal(Signal signal) => Add(signal.ToString());

        private void Add(string key)
        {
            Errors++;
            _errors[key] = _errors.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>The peaks of one address space, sampled after each of its calls.</summary>
    public sealed class ProcessPeaks
    {
        internal ProcessPeaks(int? pid)
        {
            Pid = pid;
        }

        /// <summary>The trace PID of the first line that ran in it; null for the main process without a prefix.</summary>
        public int? Pid { get; }

        public int PeakVmas { get; private set; }

        public ulong PeakMappedBytes { get; private set; }

        public ulong PeakResidentBytes { get; private set; }

        public long Merges { get; private set; }

        public long Splits { get; private set; }

        internal void Sample(AddressSpace mm)
        {
            PeakVmas = Math.Max(PeakVmas, mm.MapCount);
            PeakMappedBytes = Math.Max(PeakMappedBytes, mm.TotalVm << PageConstants.PageShift);
            long resident = mm.Pages.AnonPages + mm.Pages.FilePages + mm.Pages.ShmemPages;
            PeakResidentBytes = Math.Max(PeakResidentBytes, (ulong)resident << PageConstants.PageShift);
            Merges = mm.Merges;
            Splits = mm.Splits;
        }
    }
}
