using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Trace.Output;

/// <summary>
/// The strace-style echo (trace-format.md "Execution and output"): each call printed back with the model's result,
/// <c># hook</c>, <c># note</c>, <c># diverged</c> and <c># skipped</c> lines, the text of the view pseudo-calls, and at the end the
/// leak report and the summary line.
/// </summary>
public sealed class EchoWriter : IOutcomeSink
{
    private readonly Utf8Output _out;
    private readonly char[] _result = new char[256];
    private readonly System.Text.StringBuilder _vector = new();

    public EchoWriter(Utf8Output output)
    {
        _out = output;
    }

    public void OnOutcome(Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        CallLine call = outcome.Call;
        // By index, as the notes below: this runs for every line.
        IReadOnlyList<string> hooks = outcome.HookLines;
        for (int i = 0; i < hooks.Count; i++)
        {
            _out.WriteLine(hooks[i]);
        }

        switch (outcome.Kind)
        {
            case OutcomeKind.Skipped:
                if (outcome.SkipReason is { } reason)
                {
                    _out.Write("# skipped ");
                    WriteWhere(call);
                    _out.Write(": ");
                    _out.WriteLine(reason);
                }

                return;
            case OutcomeKind.View:
                WritePid(call);
                _out.Write(call.Name);
                _out.Write("()\n");
                _out.Write(outcome.ViewText);
                return;
            default:
                break;
        }

        WritePid(call);
        bool vector = outcome.MincoreVector.Count != 0 && call.Name == "mincore" && call.ArgCount > 2;
        if (vector)
        {
            // strace prints mincore's vector on exit: the model's, not what the log wrote.
            ReadOnlySpan<char> text = call.CallText;
            (int start, int end) = call.ArgRange(2);
            _vector.Clear();
            MincoreVectorText.Append(_vector, outcome.MincoreVector, MincoreVectorText.Limit(call.ArgText(2)));
            _out.Write(text[..start]);
            foreach (ReadOnlyMemory<char> chunk in _vector.GetChunks())
            {
                _out.Write(chunk.Span);
            }

            _out.Write(text[end..]);
        }
        else
        {
            _out.Write(call.CallText);
        }

        _out.Write(" = ");
        ReadOnlySpan<char> produced = Result(outcome);
        _out.WriteLine(produced);
        // By index: a foreach over the IReadOnlyList would box an enumerator for every line.
        IReadOnlyList<string> notes = outcome.Notes;
        for (int i = 0; i < notes.Count; i++)
        {
            string note = notes[i];
            _out.Write("# note ");
            WriteWhere(call);
            _out.Write(": ");
            _out.WriteLine(note);
        }

        if (outcome.Verdict == Verdict.Diverged)
        {
            _out.Write("# diverged ");
            WriteWhere(call);
            _out.Write(": expected ");
            if (vector)
            {
                _out.Write(call.ArgText(2));
                _out.Write(" = ");
            }

            _out.Write(call.ResultText);
            _out.Write(", produced ");
            if (vector)
            {
                foreach (ReadOnlyMemory<char> chunk in _vector.GetChunks())
                {
                    _out.Write(chunk.Span);
                }

                _out.Write(" = ");
            }

            _out.Write(produced);
            if (outcome.FollowRefusal is { } refusal)
            {
                _out.Write(" (not followed: ");
                _out.Write(refusal);
                _out.Write(')');
            }

            _out.Write('\n');
        }
    }

    public void OnEnd(ReplaySummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Leaks is { } leaks)
        {
            if (leaks.Count == 0)
            {
                _out.WriteLine("# leaks: none");
            }

            foreach (string leak in leaks)
            {
                _out.Write("# leak: ");
                _out.WriteLine(leak);
            }
        }

        _out.WriteLine(summary.Counts.ToString());
    }

    private ReadOnlySpan<char> Result(Outcome outcome) =>
        outcome.TryFormatResult(_result, out int n) ? _result.AsSpan(0, n) : outcome.FormatResult();

    private void WritePid(CallLine call)
    {
        if (call.Pid is int pid)
        {
            _out.Write(pid);
            _out.Write(' ');
        }
    }

    private void WriteWhere(CallLine call)
    {
        _out.Write(call.FileName);
        _out.Write(':');
        _out.Write(call.Line);
    }
}
