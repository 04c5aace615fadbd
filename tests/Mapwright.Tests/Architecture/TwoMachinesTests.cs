using System.Text;
using Mapwright.Mm;
using Mapwright.Trace.Output;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Architecture;

/// <summary>
/// Two machines in one process are independent: every identity a machine hands out (shmem and device inode
/// numbers, the example devices' locks and counters) belongs to a part the machine owns, so running two traces
/// interleaved call by call, each on its own machine, prints what each prints alone. Driven through the
/// replay engine the CLI uses.
/// </summary>
public sealed class TwoMachinesTests
{
    private static readonly TraceRunOptions s_options = new() { Config = new MmConfig(), HookTrace = true };

    public static TheoryData<string, string> Pairs()
    {
        string[] names = [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Traces"), "*.trace").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        var data = new TheoryData<string, string>();
        foreach (string a in names)
        {
            // Each trace beside memfd-devzero.trace (shmem inode numbers in its maps) and beside itself.
            data.Add(a, a);
            if (a != "memfd-devzero.trace")
            {
                data.Add(a, "memfd-devzero.trace");
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Pairs))]
    [Trait("Rule", "issue 9: one composition root; two instances in one process are independent and give the same results as one")]
    public void TwoMachinesInterleavedPrintWhatEachPrintsAlone(string first, string second)
    {
        string aloneFirst = Alone(first), aloneSecond = Alone(second);
        using var a = new Run(first);
        using var b = new Run(second);
        bool moreA = true, moreB = true;
        while (moreA || moreB)
        {
            moreA = moreA && a.StepOne();
            moreB = moreB && b.StepOne();
        }

        Assert.Equal(aloneFirst, a.Finish());
        Assert.Equal(aloneSecond, b.Finish());
    }

    private static string Alone(string name)
    {
        using var run = new Run(name);
        while (run.StepOne())
        {
        }

        return run.Finish();
    }

    /// <summary>One trace on its own machine (ReplayEngine.Create makes one), stepped one call at a time.</summary>
    private sealed class Run : IDisposable
    {
        private readonly MemoryStream _out = new();
        private readonly Utf8Output _output;
        private readonly TraceReader _reader;
        private readonly ReplayEngine _engine;

        public Run(string name)
        {
            _engine = ReplayEngine.Create(s_options, [])!;
            _output = new Utf8Output(_out);
            _engine.AddSink(new EchoWriter(_output));
            _reader = new TraceReader(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Traces", name)), name);
        }

        public bool StepOne()
        {
            ReadStatus status = _reader.Read();
            Assert.True(status != ReadStatus.Error, _reader.Error?.ToString());
            if (status == ReadStatus.End)
            {
                return false;
            }

            _engine.Step(_reader.Call);
            return true;
        }

        public string Finish()
        {
            _engine.Finish();
            _output.Flush();
            return Encoding.UTF8.GetString(_out.ToArray());
        }

        public void Dispose() => _reader.Dispose();
    }
}
