namespace Mapwright.Paging;

/// <summary>
/// A page-table entry: what it maps, the frame, and the hardware and software bits smaps reads. Packed in 32
/// bits: kind in bits 0-2, dirty in bit 3, shmem in bit 4, old (not accessed) in bit 5, frame in bits 6-31
/// (so a machine has at most 2^26 frames, 256 GiB).
/// Linux: pte_t with pte_pfn(), pte_dirty(), pte_young(); the folio's swap-backed bit for shmem.
/// </summary>
public readonly struct Pte
{
    /// <summary>Frames a PTE can name.</summary>
    public const int MaxFrames = 1 << 26;

    private const uint KindMask = 7;
    private const uint DirtyBit = 1 << 3;
    private const uint ShmemBit = 1 << 4;
    private const uint OldBit = 1 << 5;
    private const int FrameShift = 6;

    internal Pte(uint raw)
    {
        Raw = raw;
    }

    /// <summary>A young (just accessed) entry.</summary>
    internal Pte(PteKind kind, int frame, bool dirty, bool shmem = false)
    {
        Raw = (uint)kind | (dirty ? DirtyBit : 0) | (shmem ? ShmemBit : 0) | ((uint)frame << FrameShift);
    }

    internal uint Raw { get; }

    public PteKind Kind => (PteKind)(Raw & KindMask);

    /// <summary>The frame mapped (the zero page for <see cref="PteKind.ZeroPage"/>, unused for guards).</summary>
    public int Frame => (int)(Raw >> FrameShift);

    /// <summary>Written through this entry since it was last cleaned. Linux: pte_dirty().</summary>
    public bool Dirty => (Raw & DirtyBit) != 0;

    /// <summary>Accessed since it was last aged: set by every access, cleared for a fork child's copy and by
    /// MADV_FREE and MADV_COLD. Linux: pte_young().</summary>
    public bool Young => (Raw & OldBit) == 0;

    /// <summary>The frame is a shmem (tmpfs, memfd, shared anonymous) page: counted as RssShmem.
    /// Linux: folio_test_swapbacked() on a file folio, mm_counter_file().</summary>
    public bool Shmem => (Raw & ShmemBit) != 0;

    /// <summary>True if the entry maps a frame whose reference it holds.</summary>
    public bool HasFrame => Kind is PteKind.AnonPage or PteKind.FilePage or PteKind.PfnPage;

    internal Pte WithDirty(bool dirty) => new(dirty ? Raw | DirtyBit : Raw & ~DirtyBit);

    internal Pte WithYoung(bool young) => new(young ? Raw & ~OldBit : Raw | OldBit);
}
