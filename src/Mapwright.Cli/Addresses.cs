using System.Globalization;

namespace Mapwright.Cli;

/// <summary>Address option values: <c>0x</c> hex or decimal.</summary>
internal static class Addresses
{
    public static bool TryParse(string text, out ulong value)
    {
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            return ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        }

        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }
}
