namespace Mapwright.Trace.Parsing;

/// <summary>
/// Parses the project's trace language (docs: trace-format.md): strace-style syscall lines plus the
/// access pseudo-calls. The whole text is read before anything runs; every malformed line becomes a
/// <see cref="TraceDiagnostic"/> and parsing goes on with the next line. Never throws on any text;
/// linear in its length.
/// </summary>
public static class TraceParser
{
    public static TraceDocument Parse(string text, string fileName)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);

        var builder = new TraceDocumentBuilder(fileName);
        int line = 0;

        // A byte order mark left by a reader that did not strip it.
        int start = text.StartsWith('\uFEFF') ? 1 : 0;
        while (true)
        {
            int newline = text.IndexOf('\n', start);
            int end = newline < 0 ? text.Length : newline;
            line++;
            builder.AddLine(text, start, end, line);
            if (newline < 0)
            {
                break;
            }

            start = newline + 1;
        }

        return builder.Build();
    }
}
