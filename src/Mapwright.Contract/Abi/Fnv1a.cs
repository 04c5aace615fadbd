namespace Mapwright.Abi;

/// <summary>FNV-1a 64-bit, the hash of peek and fpeek results (trace-format.md).</summary>
public struct Fnv1a
{
    public const ulong OffsetBasis = 0xcbf29ce484222325;
    private const ulong Prime = 0x100000001b3;

    public Fnv1a()
    {
        Value = OffsetBasis;
    }

    public ulong Value { get; private set; }

    public void Add(ReadOnlySpan<byte> bytes)
    {
        ulong h = Value;
        foreach (byte b in bytes)
        {
            h ^= b;
            h *= Prime;
        }

        Value = h;
    }
}
