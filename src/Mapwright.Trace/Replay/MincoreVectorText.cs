using System.Globalization;
using System.Text;

namespace Mapwright.Trace.Replay;

/// <summary>
/// mincore's residency vector as strace prints it on exit: <c>[1, 0, 1]</c>, cut after as many elements as the
/// log's own vectors show (strace's <c>-s</c> limit, 32 by default) with <c>, ...</c>, or whole when the log
/// printed whole vectors (<c>-v</c>). A written vector is compared element by element under <c>--check</c>.
/// </summary>
internal static class MincoreVectorText
{
    /// <summary>strace's default limit on printed array elements (its -s string limit, 32).</summary>
    public const int DefaultLimit = 32;

    /// <summary>Whether the written argument is a vector strace printed (not a placeholder such as
    /// <c>[...]</c>, <c>[]</c> or an address).</summary>
    public static bool IsWrittenVector(ReadOnlySpan<char> written) =>
        written.Length > 2 && written[0] == '[' && written[^1] == ']' && char.IsAsciiDigit(written[1]);

    /// <summary>How many elements to print, judged from the written argument: as many as it shows when it was
    /// cut (<c>, ...]</c>), all when it was written whole, strace's default otherwise.</summary>
    public static int Limit(ReadOnlySpan<char> written)
    {
        if (!IsWrittenVector(written))
        {
            return DefaultLimit;
        }

        int elements = Count(written, out bool cut);
        return cut ? elements : int.MaxValue;
    }

    /// <summary>Appends the vector, at most <paramref name="limit"/> elements.</summary>
    public static void Append(StringBuilder sb, IReadOnlyList<byte> vector, int limit)
    {
        sb.Append('[');
        int n = Math.Min(limit, vector.Count);
        for (int i = 0; i < n; i++)
        {
            if (i != 0)
            {
                sb.Append(", ");
            }

            sb.Append(vector[i].ToString(CultureInfo.InvariantCulture));
        }

        if (n < vector.Count)
        {
            sb.Append(n == 0 ? "..." : ", ...");
        }

        sb.Append(']');
    }

    /// <summary>Whether a written vector shows the same elements as the model's (as many as it shows; all of them
    /// when it was not cut).</summary>
    public static bool Matches(ReadOnlySpan<char> written, IReadOnlyList<byte> vector)
    {
        ReadOnlySpan<char> body = written[1..^1];
        int i = 0;
        foreach (Range r in body.Split(','))
        {
            ReadOnlySpan<char> element = body[r].Trim();
            if (element.SequenceEqual("..."))
            {
                return i < vector.Count;
            }

            if (i >= vector.Count || !byte.TryParse(element, NumberStyles.None, CultureInfo.InvariantCulture, out byte b) || b != vector[i])
            {
                return false;
            }

            i++;
        }

        return i == vector.Count;
    }

    private static int Count(ReadOnlySpan<char> written, out bool cut)
    {
        cut = false;
        int n = 0;
        ReadOnlySpan<char> body = written[1..^1];
        foreach (Range r in body.Split(','))
        {
            if (body[r].Trim().SequenceEqual("..."))
            {
                cut = true;
            }
            else
            {
                n++;
            }
        }

        return n;
    }
}
