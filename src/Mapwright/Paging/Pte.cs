namespace Mapwright.Paging;

/// <summary>
/// A page-table entry: what it maps, the frame, and the hardware and software bits smaps reads. Packed in 64
/// bits: kind in bits 0-2, dirty in bit 3, shmem in bit 4, old (not accessed) in bit 5, frame in bits 32-63.
/// Linux: pte_t with pte_pfn(), pte_dirty(), pte_young(); the folio's swap-backed bit for shmem.
/// </summary>
public readonly struct Pte
{
    private const ulong KindMask = 7;
    private const ulong DirtyBit = 1 << 3;
    private const ulong ShmemBit = 1 << 4;
    private const ulong OldBit = 1 << 5;

    internal Pte(ulong raw)
    {
        Raw = raw;
    }

    /// <summary>A young (just accessed) entry.</summary>
    public Pte(PteKind kind, int frame, bool dirty, bool shmem = false)
    {
        Raw = (ulong)kind | (dirty ? DirtyBit : 0) | (shmem ? ShmemBit : 0) | ((ulong)(uint)frame << 32);
    }

    internal ulong Raw { get; }

    public PteKind Kind => (PteKind)(Raw & KindMask);

    /// <summary>The frame mapped (the zero page for <see cref="PteKind.ZeroPage"/>, unused for guards).</summary>
    public int Frame => (int)(Raw >> 32);

    /// <summary>Written through this entry since it was last cleaned. Linux: pte_dirty().</summary>
    public bool Dirty => (Raw & DirtyBit) != 0;

    /// <summary>Accessed since it was last aged: set by every access, cleared for a fork child's copy and by
    /// MADV_FREE and MADV_COLD. Linux: pte_young().</summary>
    public bool Young => (Raw & OldBit) == 0;

    /// <summary>The frame is a shmem (tmpfs, memfd, shared anonymous) page: counted as RssShmem.
    /// Linux: folio_test_swapbacked() on a file folio, mm_counter_file().</summary>
    public bool Shmem => (Raw & ShmemBit) != 0;

    /// <summary>True if the entry maps a frame whose reference it holds.</summary>
    public bool HasFrame => Kind is PteKind.AnonPage or PteKind.FilePage;

    internal Pte WithDirty(bool dirty) => new(dirty ? Raw | DirtyBit : Raw & ~DirtyBit);

    internal Pte WithYoung(bool young) => new(young ? Raw & ~OldBit : Raw | OldBit);
}
