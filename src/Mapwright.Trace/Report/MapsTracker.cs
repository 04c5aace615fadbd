using Mapwright.Mm;

namespace Mapwright.Trace.Report;

/// <summary>
/// The report's copy of one address space's maps, brought up to date after each call from the range the model
/// says changed (<see cref="AddressSpace.TakeChangedRange"/>), so that a call costs what it changed, not what is
/// mapped: a log that churns 60,000 VMAs for a million calls is compared a few VMAs at a time.
/// </summary>
internal sealed class MapsTracker
{
    private static readonly Comparer<ReportVma> s_byStart = Comparer<ReportVma>.Create((a, b) => a.Start.CompareTo(b.Start));

    private readonly SortedSet<ReportVma> _vmas = new(s_byStart);
    private readonly List<ReportVma> _gate = [];
    private readonly List<ReportVma> _old = [];
    private readonly List<ReportVma> _new = [];
    private ulong _startBrk;
    private ulong _brk;
    private ulong _startStack;
    private bool _started;
    private bool _rebound;

    public MapsTracker(AddressSpace mm, int index)
    {
        Mm = mm;
        Index = index;
    }

    public AddressSpace Mm { get; private set; }

    /// <summary>The process whose address space this is (null for a bare address space): an execve in it moves the
    /// tracker to the new one.</summary>
    public Mapwright.Syscalls.MmSyscalls? Process { get; init; }

    /// <summary>
    /// The process now runs in another address space (execve replaced it): the next <see cref="Update"/> reports
    /// every line of the old one removed and every line of the new one added.
    /// </summary>
    public void Rebind(AddressSpace mm)
    {
        Mm = mm;
        _started = false;
        _startBrk = _brk = _startStack = 0;
        _rebound = true;
    }

    /// <summary>The address space's index in the report (0 is the main process).</summary>
    public int Index { get; }

    /// <summary>The address space was torn down (its last process exited).</summary>
    public bool Exited { get; set; }

    /// <summary>No more updates: the address space's last task exited and the page shows its maps at exit.</summary>
    public bool Frozen { get; set; }

    /// <summary>The maps lines as the report has them now, gate lines last (as maps prints them).</summary>
    public IEnumerable<ReportVma> Current => _vmas.Concat(_gate);

    /// <summary>
    /// Brings the copy up to date; fills <paramref name="removed"/> (starts of lines gone or changed) and
    /// <paramref name="added"/> (new or changed lines), both in address order. False when nothing changed.
    /// </summary>
    public bool Update(List<ulong> removed, List<ReportVma> added)
    {
        removed.Clear();
        added.Clear();
        ulong low, high;
        bool changed = Mm.TakeChangedRange(out low, out high);
        if (!_started)
        {
            // The first look: everything, and the gate lines, which never change (after an execve the old
            // lines all go first).
            if (_rebound)
            {
                foreach (ReportVma gone in _gate)
                {
                    removed.Add(gone.Start);
                }

                _gate.Clear();
                _rebound = false;
            }

            _started = true;
            low = 0;
            high = ulong.MaxValue;
            changed = true;
            foreach (string line in Mm.GateLines)
            {
                if (ReportVma.FromMapsLine(line) is { } gate)
                {
                    _gate.Add(gate);
                    added.Add(gate);
                }
            }
        }

        // [heap] and [stack] are named from brk and the stack start: a line may change its name alone.
        if (Mm.StartBrk != _startBrk || Mm.Brk != _brk)
        {
            Widen(ref low, ref high, Math.Min(_startBrk, Mm.StartBrk), Math.Max(Math.Max(_brk, Mm.Brk), Math.Max(_startBrk, Mm.StartBrk)) + 1);
            changed = true;
            _startBrk = Mm.StartBrk;
            _brk = Mm.Brk;
        }

        if (Mm.StartStack != _startStack)
        {
            Widen(ref low, ref high, Math.Min(_startStack, Mm.StartStack), Math.Max(_startStack, Mm.StartStack) + 1);
            changed = true;
            _startStack = Mm.StartStack;
        }

        if (!changed)
        {
            return added.Count != 0;
        }

        CollectOld(low, high);
        _new.Clear();
        for (Vma? v = Mm.FindVma(low); v is not null && v.Start < high; v = AddressSpace.NextOf(v))
        {
            _new.Add(ReportVma.From(Mm.DescribeMapsLine(v)));
        }

        int i = 0, j = 0;
        var newGate = added.Count;
        while (i < _old.Count || j < _new.Count)
        {
            if (j == _new.Count || (i < _old.Count && _old[i].Start < _new[j].Start))
            {
                Remove(_old[i++], removed);
            }
            else if (i == _old.Count || _new[j].Start < _old[i].Start)
            {
                Add(_new[j++], added);
            }
            else
            {
                if (_old[i] != _new[j])
                {
                    Remove(_old[i], removed);
                    Add(_new[j], added);
                }

                i++;
                j++;
            }
        }

        if (newGate != 0)
        {
            // Gate lines go last, as maps prints them.
            added.AddRange(added.GetRange(0, newGate));
            added.RemoveRange(0, newGate);
        }

        return removed.Count != 0 || added.Count != 0;
    }

    private void Remove(ReportVma vma, List<ulong> removed)
    {
        _vmas.Remove(vma);
        removed.Add(vma.Start);
    }

    private void Add(ReportVma vma, List<ReportVma> added)
    {
        _vmas.Add(vma);
        added.Add(vma);
    }

    /// <summary>The lines of the copy that intersect [low, high), in address order.</summary>
    private void CollectOld(ulong low, ulong high)
    {
        _old.Clear();
        if (_vmas.Count == 0)
        {
            return;
        }

        var probe = new ReportVma(low, low, 0, VmaKind.Anon, string.Empty, 0, 0, 0, 0);
        if (low > 0 && _vmas.Min.Start < low)
        {
            ReportVma before = _vmas.GetViewBetween(_vmas.Min, probe with { Start = low - 1 }).Max;
            if (before.End > low)
            {
                _old.Add(before);
            }
        }

        if (high > low && _vmas.Max.Start >= low)
        {
            foreach (ReportVma v in _vmas.GetViewBetween(probe, probe with { Start = high - 1 }))
            {
                _old.Add(v);
            }
        }
    }

    private static void Widen(ref ulong low, ref ulong high, ulong start, ulong end)
    {
        low = Math.Min(low, start);
        high = Math.Max(high, end);
    }
}
