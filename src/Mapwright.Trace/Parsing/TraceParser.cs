namespace Mapwright.Trace.Parsing;

/// <summary>
/// Parses a whole trace held in memory into a <see cref="TraceDocument"/> (for tests and tools that want every call
/// at once). It reads through the same <see cref="TraceReader"/> the replay streams with, so both accept and reject
/// exactly the same text. Every malformed line becomes a <see cref="TraceDiagnostic"/> and parsing goes on with the
/// next line. Never throws on any text; linear in its length.
/// </summary>
public static class TraceParser
{
    public static TraceDocument Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);

        using var source = new StringReader(text);
        using var reader = new TraceReader(source, fileName);
        var calls = new List<TraceCall>();
        var errors = new List<TraceDiagnostic>();
        ReadStatus status;
        while ((status = reader.Read()) != ReadStatus.End)
        {
            if (status == ReadStatus.Call)
            {
                calls.Add(reader.Call.ToTraceCall());
            }
            else
            {
                errors.Add(reader.Error!);
            }
        }

        // Stable: an error of a joined pair may name the earlier line of its unfinished half.
        List<TraceDiagnostic> sorted = [.. errors.OrderBy(e => e.Line)];
        return new TraceDocument(calls, reader.SkippedLines, sorted);
    }
}
