using System.Globalization;
using Mapwright.Abi;
using Mapwright.Syscalls;
using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>
/// What one call of a trace did: the engine fills one in per call and hands it to every
/// <see cref="IOutcomeSink"/> (the echo, JSON and statistics writers, the differential harness). The instance is
/// reused for the next call: a sink that keeps anything copies it.
/// </summary>
public sealed class Outcome
{
    internal Outcome(CallLine call)
    {
        Call = call;
    }

    /// <summary>The call as read (its line, PID, name, arguments and written result).</summary>
    public CallLine Call { get; internal set; }

    public OutcomeKind Kind { get; internal set; }

    /// <summary>The process the call ran in; null when it was skipped for want of a live process.</summary>
    public MmSyscalls? Process { get; internal set; }

    /// <summary>The result: a value or an errno; for peek and fpeek the hash.</summary>
    public SysResult Result { get; internal set; }

    /// <summary>The signal an access ended in (<see cref="Signal.None"/> otherwise).</summary>
    public Signal Signal { get; internal set; }

    /// <summary>How <see cref="Result"/> is printed.</summary>
    public ResultSpelling Spelling { get; internal set; }

    public Verdict Verdict { get; internal set; }

    /// <summary>Why a <see cref="OutcomeKind.Skipped"/> call was not run, when the echo says so (a PID that is not
    /// live, a known call not modelled); null for calls outside the model, which are skipped silently.</summary>
    public string? SkipReason { get; internal set; }

    /// <summary>With <c>--follow-addresses</c>: why the address the log shows for this call could not be followed
    /// (Linux could not have chosen it); the call diverged. Null otherwise.</summary>
    public string? FollowRefusal { get; internal set; }

    /// <summary>The text a view pseudo-call printed.</summary>
    public string? ViewText { get; internal set; }

    /// <summary>The <c># hook ...</c> lines the call's mmap hooks produced, with <c>--hook-trace</c>.</summary>
    public IReadOnlyList<string> HookLines => _hookLines;

    /// <summary>mincore's residency vector (empty for other calls, for a failed mincore, and for ranges too long to
    /// keep one).</summary>
    public IReadOnlyList<byte> MincoreVector => _vector;

    internal readonly List<string> _hookLines = [];
    internal readonly List<byte> _vector = [];

    /// <summary>What the replay assumed or could not reproduce for this call (an execve's unknown environment...),
    /// one sentence each.</summary>
    public IReadOnlyList<string> Notes => _notes;

    internal readonly List<string> _notes = [];

    internal void Reset()
    {
        Kind = OutcomeKind.Executed;
        Process = null;
        Result = SysResult.Ok(0);
        Signal = Signal.None;
        Spelling = ResultSpelling.Decimal;
        Verdict = Verdict.Unchecked;
        SkipReason = null;
        FollowRefusal = null;
        ViewText = null;
        _hookLines.Clear();
        _vector.Clear();
        _notes.Clear();
    }

    internal void SetResult(SysResult result)
    {
        Kind = OutcomeKind.Executed;
        Result = result;
    }

    internal void SetView(string text)
    {
        Kind = OutcomeKind.View;
        ViewText = text;
    }

    /// <summary>The result as the echo prints it after <c>= </c>: <c>0x7ffff7ff6000</c>, <c>0</c>,
    /// <c>-1 ENOMEM (Cannot allocate memory)</c>, a hash, <c>SIGSEGV</c>, <c>?</c>.</summary>
    public string FormatResult()
    {
        Span<char> buffer = stackalloc char[128];
        return TryFormatResult(buffer, out int n) ? buffer[..n].ToString() : Result.Format(Spelling == ResultSpelling.Hex);
    }

    /// <summary>As <see cref="FormatResult"/>, into <paramref name="destination"/>, without allocating.</summary>
    public bool TryFormatResult(Span<char> destination, out int written)
    {
        if (Kind == OutcomeKind.NoReturn)
        {
            return Copy("?", destination, out written);
        }

        if (Kind == OutcomeKind.Control)
        {
            return Copy("0", destination, out written);
        }

        if (Signal != Signal.None)
        {
            return Copy(Signal == Signal.SIGSEGV ? "SIGSEGV" : Signal == Signal.SIGBUS ? "SIGBUS" : Signal.ToString(), destination, out written);
        }

        if (Result.IsError)
        {
            string name = Result.Errno.ToString();
            string message = Result.Errno.Message();
            written = 0;
            int need = 3 + name.Length + 2 + message.Length + 1;
            if (destination.Length < need)
            {
                return false;
            }

            "-1 ".CopyTo(destination);
            name.CopyTo(destination[3..]);
            destination[3 + name.Length] = ' ';
            destination[4 + name.Length] = '(';
            message.CopyTo(destination[(5 + name.Length)..]);
            destination[need - 1] = ')';
            written = need;
            return true;
        }

        if ((Spelling == ResultSpelling.Access && Call.Name != "poke") || Spelling == ResultSpelling.Hex)
        {
            // A hash is printed as 0x%016x, an address as strace prints pointers (0x%lx).
            if (destination.Length < 2)
            {
                written = 0;
                return false;
            }

            "0x".CopyTo(destination);
            bool ok = Result.Value.TryFormat(destination[2..], out int digits, Spelling == ResultSpelling.Hex ? "x" : "x16", CultureInfo.InvariantCulture);
            written = digits + 2;
            return ok;
        }

        return Result.Raw.TryFormat(destination, out written, default, CultureInfo.InvariantCulture);
    }

    private static bool Copy(string s, Span<char> destination, out int written)
    {
        written = s.Length;
        return s.AsSpan().TryCopyTo(destination);
    }
}
