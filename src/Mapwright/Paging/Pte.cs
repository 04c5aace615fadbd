namespace Mapwright.Paging;

/// <summary>
/// A page-table entry: what it maps, the frame, and the dirty bit. Packed in 64 bits: kind in bits 0-2, dirty in
/// bit 3, frame in bits 32-63. Linux: pte_t with pte_pfn(), pte_dirty().
/// </summary>
public readonly struct Pte
{
    private const ulong KindMask = 7;
    private const ulong DirtyBit = 8;

    internal Pte(ulong raw)
    {
        Raw = raw;
    }

    public Pte(PteKind kind, int frame, bool dirty)
    {
        Raw = (ulong)kind | (dirty ? DirtyBit : 0) | ((ulong)(uint)frame << 32);
    }

    internal ulong Raw { get; }

    public PteKind Kind => (PteKind)(Raw & KindMask);

    /// <summary>The frame mapped (the zero page for <see cref="PteKind.ZeroPage"/>, unused for guards).</summary>
    public int Frame => (int)(Raw >> 32);

    /// <summary>Written through this entry since it was last cleaned. Linux: pte_dirty().</summary>
    public bool Dirty => (Raw & DirtyBit) != 0;

    /// <summary>True if the entry maps a frame whose reference it holds.</summary>
    public bool HasFrame => Kind is PteKind.AnonPage or PteKind.FilePage;

    internal Pte WithDirty(bool dirty) => new(dirty ? Raw | DirtyBit : Raw & ~DirtyBit);
}
