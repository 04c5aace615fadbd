using System.Text;
using Mapwright.Diagnostics;
using Mapwright.Mm;
using Mapwright.Tests.Cli;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Mapwright.Trace.Report;
using Xunit;

namespace Mapwright.Tests.Report;

/// <summary>The size of the report of a long log. Runs alone: it turns the model's invariant checks off while it
/// replays, which no other test may see.</summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class ReportSizeTests
{
    [Fact]
    [Trait("Rule", "issue 11: a million-call log gives a page under 10 MB: under 10 bytes a call beyond the empty page")]
    public void ALongChurnLogTakesUnderTenBytesACall()
    {
        // A tenth of the million, over 6,000 VMAs (docs/report.md has the million-call figure, over 60,000).
        const int Calls = 100_000;
        string trace = ReportTraces.Churn(calls: Calls, vmas: 6_000);
        long empty, page, raw;
        bool checks = MmDebug.CheckInvariants;
        try
        {
            // The whole-address-space validation after every call (on in tests) would take most of a minute here.
            MmDebug.CheckInvariants = false;
            empty = PageBytes(string.Empty, out _);
            page = PageBytes(trace, out raw);
        }
        finally
        {
            MmDebug.CheckInvariants = checks;
        }

        Assert.True(page - empty < Calls * 10L, $"{page - empty} bytes for {Calls} calls");
        // The records compress: the page is smaller than they are, and far smaller than the log.
        Assert.True(page - empty < raw, $"{page - empty} bytes of page for {raw} bytes of records");
        Assert.True(page * 4 < trace.Length, $"{page} bytes of page for {trace.Length} bytes of log");
    }

    private static long PageBytes(string trace, out long rawRecords)
    {
        var errors = new List<TraceDiagnostic>();
        ReplayEngine engine = ReplayEngine.Create(new TraceRunOptions { Config = new MmConfig() }, errors)!;
        using var page = new MemoryStream();
        using var writer = new ReportWriter(page, engine, "churn.trace");
        engine.AddSink(writer);
        using (var reader = new TraceReader(new MemoryStream(Encoding.UTF8.GetBytes(trace)), "churn.trace"))
        {
            Assert.Null(TraceReplay.Run(reader, engine));
        }

        engine.Finish();
        rawRecords = writer.RawDataBytes;
        return page.Length;
    }

}
