using System.Globalization;
using System.Reflection;
using System.Text;
using Mapwright.Abi;
using Mapwright.Syscalls;
using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Trace.Report;

/// <summary>
/// The HTML report of a replay (docs/report.md): one self-contained page with the address space at every step,
/// the calls, charts over time and the hook calls of driver mappings. As a sink of the <see cref="ReplayEngine"/>
/// it reads each call's outcome and the maps the call changed, and streams the page's data block (compressed) to
/// the output stream as the run goes; <see cref="OnEnd"/> completes the page. Memory stays bounded by the
/// model's state and the distinct strings of the trace, not by its length.
/// </summary>
public sealed class ReportWriter : IOutcomeSink, IDisposable
{
    /// <summary>Longest argument text kept; longer ones (read buffers, structures) are cut with an ellipsis.</summary>
    public const int MaxArgChars = 96;

    /// <summary>The most smaps text (characters) the report keeps; later smaps() views are left out.</summary>
    public const long MaxSmapsChars = 8 << 20;

    /// <summary>Address spaces that get charts; the later ones are drawn in the map only.</summary>
    public const int MaxChartedProcesses = 32;

    private const string DataMarker = "{{DATA}}";

    /// <summary>Every this many calls, a call's record is a checkpoint (docs/report.md, "Data block").</summary>
    private const int CheckpointInterval = 64;

    /// <summary>The flag of a checkpoint's record.</summary>
    private const int CheckpointFlag = 128;

    /// <summary>Where a hexadecimal number stands in an argument template.</summary>
    private const char HexMark = '\u0001';

    /// <summary>Where a decimal number stands in an argument template.</summary>
    private const char DecimalMark = '\u0002';

    private readonly Stream _output;
    private readonly ReplayEngine _engine;
    private readonly ReportRecords _records;
    private readonly string _suffix;
    private readonly Dictionary<MmSyscalls, MapsTracker> _trackers = new(ReferenceEqualityComparer.Instance);
    private readonly List<MapsTracker> _order = [];
    private readonly Dictionary<MapsTracker, ChartSeries.Series> _series = [];
    private readonly ChartSeries _charts = new();
    private readonly List<ulong> _removed = [];
    private readonly List<ReportVma> _added = [];
    private readonly List<(MapsTracker Tracker, ulong[] Removed, ReportVma[] Added)> _groups = [];
    private readonly char[] _result = new char[256];
    private readonly StringBuilder _template = new();
    private readonly List<(bool IsHex, ulong Value)> _numbers = [];
    private char[] _templateChars = new char[256];
    private long _step = -1;
    private int _lastLine;
    private long _smapsChars;
    private bool _ended;

    /// <param name="output">Where the page goes; written from the first call on, complete after <see cref="OnEnd"/>.</param>
    /// <param name="engine">The engine whose outcomes this sink receives (its processes are read after each call).</param>
    /// <param name="title">The trace's name, shown in the page's title.</param>
    public ReportWriter(Stream output, ReplayEngine engine, string title)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(title);
        _output = output;
        _engine = engine;
        string page = Page();
        int marker = page.IndexOf(DataMarker, StringComparison.Ordinal);
        string prefix = page[..marker].Replace("{{TITLE}}", System.Net.WebUtility.HtmlEncode(title), StringComparison.Ordinal);
        _suffix = page[(marker + DataMarker.Length)..];
        _records = new ReportRecords(_output, compressed =>
            _output.Write(Encoding.UTF8.GetBytes(prefix.Replace("{{ENCODING}}", compressed ? "gzip" : "plain", StringComparison.Ordinal))));
        Track(engine.Main, parent: null, label: "main");
    }

    /// <summary>Bytes of data before compression, so far (for measurements).</summary>
    public long RawDataBytes => _records.RawBytes;

    public void OnOutcome(Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _step++;
        CallLine call = outcome.Call;
        bool processCall = call.Row?.Category == CallCategory.Process;
        if (processCall)
        {
            DiscoverProcesses(outcome.Process);
        }

        _groups.Clear();
        if (outcome.Process is { } sys && _trackers.TryGetValue(sys, out MapsTracker? own))
        {
            if (outcome.Kind == OutcomeKind.NoReturn && !InUse(own.Mm))
            {
                // The last task of this address space exited: the page keeps the maps it had at exit (what
                // /proc/PID/maps showed last) rather than the empty space left after the teardown.
                own.Frozen = true;
            }

            Collect(own);
        }

        if (processCall)
        {
            foreach (MapsTracker t in _order)
            {
                if (outcome.Process is null || !ReferenceEquals(t.Mm, outcome.Process.Mm))
                {
                    Collect(t);
                }
            }

            MarkExits();
        }

        WriteStep(outcome);
    }

    public void OnEnd(ReplaySummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (_ended)
        {
            return;
        }

        _ended = true;
        WriteFinal();
        WriteCharts();
        _records.BeginRecord(ReportRecords.TagEnd);
        _records.Unsigned((ulong)(_step + 1));
        _records.Unsigned((ulong)summary.Counts.Executed);
        _records.Unsigned((ulong)summary.Counts.Matched);
        _records.Unsigned((ulong)summary.Counts.Diverged);
        _records.Unsigned((ulong)summary.Counts.Skipped);
        _records.Byte(_engine.Options.Check ? (byte)1 : (byte)0);
        IReadOnlyList<string> leaks = summary.Leaks ?? [];
        _records.Unsigned((ulong)leaks.Count);
        foreach (string leak in leaks)
        {
            _records.Unsigned((ulong)_records.Intern(leak));
        }

        _records.EndRecord();
        _records.Finish();
        _output.Write(Encoding.UTF8.GetBytes(_suffix));
        _output.Flush();
    }

    public void Dispose() => _records.Dispose();

    private static string Page()
    {
        Assembly asm = typeof(ReportWriter).Assembly;
        string html = Resource(asm, "report.html");
        return html.Replace("{{STYLE}}", Resource(asm, "report.css"), StringComparison.Ordinal)
            .Replace("{{SCRIPT}}", Resource(asm, "report.js"), StringComparison.Ordinal);
    }

    private static string Resource(Assembly asm, string name)
    {
        using Stream s = asm.GetManifestResourceStream("Mapwright.Trace.Report." + name)
            ?? throw new InvalidOperationException($"the report page resource {name} is not embedded");
        using var reader = new StreamReader(s, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>Starts following an address space: its record, with the maps it starts from.</summary>
    private MapsTracker Track(MmSyscalls sys, MapsTracker? parent, string label)
    {
        var t = new MapsTracker(sys.Mm, _order.Count) { Process = sys };
        _trackers[sys] = t;
        _order.Add(t);
        t.Update(_removed, _added);
        _records.BeginRecord(ReportRecords.TagProcess);
        _records.Unsigned((ulong)t.Index);
        _records.Unsigned(parent is null ? 0 : (ulong)parent.Index + 1);
        _records.Unsigned((ulong)(_step + 1));
        _records.Unsigned((ulong)_records.Intern(label));
        WriteAdded(_added);
        _records.EndRecord();
        if (_order.Count <= MaxChartedProcesses)
        {
            ChartSeries.Series s = _charts.Add(Math.Max(0, _step));
            _series[t] = s;
            if (_step >= 0)
            {
                Sample(t);
            }
        }

        return t;
    }

    /// <summary>Address spaces a fork or clone created: each PID's process that is not followed yet.</summary>
    private void DiscoverProcesses(MmSyscalls? caller)
    {
        MapsTracker? parent = caller is not null && _trackers.TryGetValue(caller, out MapsTracker? p) ? p : null;
        foreach (KeyValuePair<int, MmSyscalls> kv in _engine.Processes)
        {
            if (!_trackers.ContainsKey(kv.Value))
            {
                Track(kv.Value, parent, "pid " + kv.Key.ToString(CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>Address spaces no live PID uses any more were torn down: an exit record each.</summary>
    private void MarkExits()
    {
        MmSyscalls? main = _engine.ProcessOf(null);
        foreach (KeyValuePair<MmSyscalls, MapsTracker> kv in _trackers)
        {
            // The main process's address space is never marked torn down: the page ends on its maps at exit.
            if (kv.Value.Exited || kv.Value.Index == 0 || ReferenceEquals(kv.Key, main) || _engine.Processes.Values.Contains(kv.Key))
            {
                continue;
            }

            kv.Value.Exited = true;
            if (_series.TryGetValue(kv.Value, out ChartSeries.Series? s))
            {
                s.Ended = true;
            }

            _records.BeginRecord(ReportRecords.TagExit);
            _records.Unsigned((ulong)kv.Value.Index);
            _records.Unsigned((ulong)_step);
            _records.EndRecord();
        }
    }

    /// <summary>Whether a live process of the trace still runs in <paramref name="mm"/>.</summary>
    private bool InUse(Mapwright.Mm.AddressSpace mm)
    {
        foreach (MmSyscalls p in _engine.Processes.Values)
        {
            if (ReferenceEquals(p.Mm, mm))
            {
                return true;
            }
        }

        return _engine.ProcessOf(null) is { } main && ReferenceEquals(main.Mm, mm);
    }

    private void Collect(MapsTracker t)
    {
        if (t.Frozen)
        {
            return;
        }

        if (t.Process is { } sys && !ReferenceEquals(sys.Mm, t.Mm))
        {
            // execve gave the process a new address space.
            t.Rebind(sys.Mm);
        }

        if (t.Update(_removed, _added))
        {
            _groups.Add((t, [.. _removed], [.. _added]));
        }

        Sample(t);
    }

    private void Sample(MapsTracker t)
    {
        if (!t.Frozen && _series.TryGetValue(t, out ChartSeries.Series? s) && !s.Ended)
        {
            long resident = t.Mm.Pages.AnonPages + t.Mm.Pages.FilePages + t.Mm.Pages.ShmemPages;
            _charts.Sample(s, Math.Max(0, _step), t.Mm.MapCount, (long)t.Mm.TotalVm, resident);
        }
    }

    private void WriteStep(Outcome outcome)
    {
        CallLine call = outcome.Call;
        List<HookCall?>? hooks = null;
        if (outcome.HookLines.Count != 0)
        {
            hooks = [];
            foreach (string line in outcome.HookLines)
            {
                hooks.Add(HookCall.Parse(line));
            }
        }

        int flags = (outcome.Verdict == Verdict.Diverged ? 1 : 0)
            | (hooks is not null ? 2 : 0)
            | (_groups.Count != 0 ? 4 : 0)
            | (outcome.Kind == OutcomeKind.Skipped ? 8 : 0)
            | (outcome.Kind == OutcomeKind.View ? 16 : 0)
            | (outcome.Verdict == Verdict.Matched ? 32 : 0)
            | (outcome.Kind == OutcomeKind.NoReturn ? 64 : 0);
        ReportRecords r = _records;
        if (outcome.Kind == OutcomeKind.View && call.Name == "smaps" && outcome.ViewText is { } smaps && _smapsChars + smaps.Length <= MaxSmapsChars
            && outcome.Process is { } viewer && _trackers.TryGetValue(viewer, out MapsTracker? vt))
        {
            _smapsChars += smaps.Length;
            r.BeginRecord(ReportRecords.TagSmaps);
            r.Unsigned((ulong)_step);
            r.Unsigned((ulong)vt.Index);
            r.Text(smaps);
            r.EndRecord();
        }

        r.BeginRecord(ReportRecords.TagStep);
        if (_step % CheckpointInterval == 0)
        {
            // A checkpoint: the line and the registers whole, where the page starts reading any call after it.
            r.Byte((byte)(flags | CheckpointFlag));
            r.Unsigned((ulong)call.Line);
            r.Unsigned(r.AddressRegister);
            r.Unsigned(r.PageRegister);
        }
        else
        {
            r.Byte((byte)flags);
            r.Signed(call.Line - _lastLine);
        }

        _lastLine = call.Line;
        r.Unsigned(outcome.Process is { } sys && _trackers.TryGetValue(sys, out MapsTracker? t) ? (ulong)t.Index + 1 : 0);
        r.Unsigned(call.Pid is int pid ? (ulong)pid + 1 : 0);
        r.Unsigned((ulong)r.Intern(call.Name));
        WriteArgs(call);
        WriteResult(outcome);
        if (outcome.Verdict == Verdict.Diverged)
        {
            r.Unsigned((ulong)r.Intern(call.ResultText.ToString()));
        }

        if (hooks is not null)
        {
            WriteHooks(hooks, outcome.HookLines);
        }

        if (_groups.Count != 0)
        {
            r.Unsigned((ulong)_groups.Count);
            foreach ((MapsTracker tracker, ulong[] removed, ReportVma[] added) in _groups)
            {
                r.Unsigned((ulong)tracker.Index);
                r.Unsigned((ulong)removed.Length);
                foreach (ulong start in removed)
                {
                    r.Page(start >> PageConstants.PageShift);
                }

                WriteAdded(added);
            }
        }

        r.EndRecord();
    }

    /// <summary>
    /// The arguments as a template and its numbers: the template is the argument text with each number replaced by
    /// a mark (<see cref="HexMark"/> for <c>0x...</c>, <see cref="DecimalMark"/> for a decimal), interned, so that
    /// a log of a million calls has a few hundred templates; the numbers follow it, addresses as differences.
    /// </summary>
    private void WriteArgs(CallLine call)
    {
        ReportRecords r = _records;
        _template.Clear();
        _numbers.Clear();
        for (int i = 0; i < call.ArgCount; i++)
        {
            if (i > 0)
            {
                _template.Append(", ");
            }

            ReadOnlySpan<char> text = call.ArgText(i);
            if (text.Length > 2 && text.Length <= 18 && text[0] == '0' && text[1] == 'x'
                && ulong.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong hex)
                && IsCanonicalHex(text[2..], hex))
            {
                _template.Append(HexMark);
                _numbers.Add((true, hex));
            }
            else if (text.Length is > 0 and <= 19 && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long dec)
                && IsCanonicalDecimal(text, dec))
            {
                _template.Append(DecimalMark);
                _numbers.Add((false, unchecked((ulong)dec)));
            }
            else
            {
                int start = _template.Length;
                _template.Append(text.Length > MaxArgChars ? text[..(MaxArgChars - 1)] : text);
                if (text.Length > MaxArgChars)
                {
                    _template.Append('…');
                }

                // The marks never come from the trace's own text.
                _template.Replace(HexMark, '?', start, _template.Length - start).Replace(DecimalMark, '?', start, _template.Length - start);
            }
        }

        r.Unsigned((ulong)InternTemplate());
        foreach ((bool isHex, ulong value) in _numbers)
        {
            if (isHex)
            {
                r.Address(value);
            }
            else
            {
                r.Signed(unchecked((long)value));
            }
        }
    }

    private int InternTemplate()
    {
        if (_template.Length > _templateChars.Length)
        {
            _templateChars = new char[Math.Max(_template.Length, _templateChars.Length * 2)];
        }

        _template.CopyTo(0, _templateChars, _template.Length);
        return _records.Intern(_templateChars.AsSpan(0, _template.Length));
    }

    private void WriteResult(Outcome o)
    {
        ReportRecords r = _records;
        switch (o.Kind)
        {
            case OutcomeKind.Skipped:
            case OutcomeKind.View:
                r.Byte(3);
                r.Unsigned(0);
                return;
            case OutcomeKind.Executed when o.Signal == Signal.None && !o.Result.IsError:
                if (o.Spelling == ResultSpelling.Hex)
                {
                    r.Address(o.Result.Value);
                    return;
                }

                if (o.Spelling == ResultSpelling.Access && o.Call.Name != "poke")
                {
                    // A hash, printed 0x%016x.
                    r.Byte(4);
                    r.Whole(o.Result.Value);
                    return;
                }

                r.Byte(2);
                r.Signed(o.Result.Raw);
                return;
            default:
                string text = o.TryFormatResult(_result, out int n) ? new string(_result, 0, n) : o.FormatResult();
                r.Byte(3);
                r.Unsigned((ulong)r.Intern(text));
                return;
        }
    }

    private void WriteHooks(List<HookCall?> hooks, IReadOnlyList<string> lines)
    {
        ReportRecords r = _records;
        r.Unsigned((ulong)hooks.Count);
        for (int i = 0; i < hooks.Count; i++)
        {
            HookCall h = hooks[i] ?? new HookCall(lines[i], string.Empty, 0, 0, string.Empty, string.Empty);
            r.Unsigned((ulong)r.Intern(h.Name));
            r.Unsigned((ulong)r.Intern(h.File));
            r.Address(h.Start);
            r.Address(h.End);
            r.Unsigned((ulong)r.Intern(h.Locks));
            r.Unsigned((ulong)r.Intern(h.Result));
        }
    }

    private void WriteAdded(IReadOnlyList<ReportVma> added)
    {
        ReportRecords r = _records;
        r.Unsigned((ulong)added.Count);
        foreach (ReportVma v in added)
        {
            bool file = v.Offset != 0 || v.DevMajor != 0 || v.DevMinor != 0 || v.Inode != 0;
            r.Page(v.Start >> PageConstants.PageShift);
            r.Unsigned((v.End - v.Start) >> PageConstants.PageShift);
            r.Byte((byte)(v.Perms | ((int)v.Kind << 4) | (file ? 0x80 : 0)));
            r.Unsigned((ulong)r.Intern(v.Name));
            if (file)
            {
                r.Unsigned(v.Offset >> PageConstants.PageShift);
                r.Unsigned(v.DevMajor);
                r.Unsigned(v.DevMinor);
                r.Unsigned(v.Inode);
            }
        }
    }

    /// <summary>Every address space's maps after the last call, so that the page draws its first view without
    /// replaying the changes of every call.</summary>
    private void WriteFinal()
    {
        ReportRecords r = _records;
        // The page reads this record without the calls before it: its pages are differences from 0.
        r.ResetRegisters();
        r.BeginRecord(ReportRecords.TagFinal);
        r.Unsigned((ulong)_order.Count);
        foreach (MapsTracker t in _order)
        {
            r.Unsigned((ulong)t.Index);
            WriteAdded([.. t.Current]);
        }

        r.EndRecord();
    }

    private void WriteCharts()
    {
        _charts.Finish(Math.Max(0, _step));
        ReportRecords r = _records;
        r.BeginRecord(ReportRecords.TagChart);
        r.Unsigned((ulong)_charts.Width);
        r.Unsigned((ulong)_series.Count);
        foreach (MapsTracker t in _order)
        {
            if (!_series.TryGetValue(t, out ChartSeries.Series? s))
            {
                continue;
            }

            r.Unsigned((ulong)t.Index);
            r.Unsigned((ulong)s.First);
            r.Unsigned((ulong)s.Count);
            for (int m = 0; m < ChartSeries.Metrics; m++)
            {
                long prev = 0;
                for (int i = 0; i < s.Count; i++)
                {
                    r.Signed(s.Min(m, i) - prev);
                    r.Unsigned((ulong)(s.Max(m, i) - s.Min(m, i)));
                    prev = s.Min(m, i);
                }
            }
        }

        r.EndRecord();
    }

    private static bool IsCanonicalHex(ReadOnlySpan<char> digits, ulong value)
    {
        Span<char> buf = stackalloc char[16];
        return value.TryFormat(buf, out int n, "x", CultureInfo.InvariantCulture) && digits.SequenceEqual(buf[..n]);
    }

    private static bool IsCanonicalDecimal(ReadOnlySpan<char> text, long value)
    {
        Span<char> buf = stackalloc char[20];
        return value.TryFormat(buf, out int n, default, CultureInfo.InvariantCulture) && text.SequenceEqual(buf[..n]);
    }
}
