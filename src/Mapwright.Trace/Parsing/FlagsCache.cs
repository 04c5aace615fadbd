namespace Mapwright.Trace.Parsing;

/// <summary>
/// The values of flags expressions read lately (<c>PROT_READ|PROT_WRITE</c>,
/// <c>MAP_PRIVATE|MAP_ANONYMOUS</c>): a log repeats a handful of them on every line, and looking each symbol up
/// again is most of the cost of reading an argument. Direct-mapped, per thread (a file is checked on one thread
/// while it runs on another), and only ever holding expressions that parsed, so a hit gives exactly what reading
/// the text again would.
/// </summary>
internal static class FlagsCache
{
    private const int Slots = 64;
    private const int MaxLength = 128;

    [ThreadStatic]
    private static Entry[]? t_entries;

    public static bool TryGet(ReadOnlySpan<char> expression, out ulong value)
    {
        Entry[]? entries = t_entries;
        if (entries is not null && expression.Length <= MaxLength)
        {
            ref Entry e = ref entries[Slot(expression)];
            if (e.Text is { } text && expression.SequenceEqual(text))
            {
                value = e.Value;
                return true;
            }
        }

        value = 0;
        return false;
    }

    public static void Add(ReadOnlySpan<char> expression, ulong value)
    {
        if (expression.Length > MaxLength)
        {
            return;
        }

        Entry[] entries = t_entries ??= new Entry[Slots];
        entries[Slot(expression)] = new Entry(expression.ToString(), value);
    }

    private static int Slot(ReadOnlySpan<char> expression)
    {
        // Length and a few characters from each end and the middle tell the expressions of one log apart.
        int n = expression.Length;
        uint h = (uint)n * 2654435761u;
        h ^= expression[n - 1] * 40503u;
        h ^= (uint)expression[n / 2] << 7;
        h ^= (uint)expression[(n * 3) / 4] << 13;
        h ^= (uint)expression[n / 4] << 3;
        return (int)((h ^ (h >> 15)) & (Slots - 1));
    }

    private readonly record struct Entry(string? Text, ulong Value);
}
