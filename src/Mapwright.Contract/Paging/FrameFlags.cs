namespace Mapwright.Paging;

/// <summary>Per-frame state bits. Linux: folio flags.</summary>
[Flags]
internal enum FrameFlags : byte
{
    None = 0,

    /// <summary>Written since it was last clean. Linux: PG_dirty.</summary>
    Dirty = 1,

    /// <summary>On the free list.</summary>
    Free = 2,

    /// <summary>An anonymous page MADV_FREE may drop. Linux: anon folio with PG_swapbacked cleared.</summary>
    LazyFree = 4,

    /// <summary>Marked accessed. Linux: PG_referenced.</summary>
    Referenced = 8,

    /// <summary>On the active LRU list. Linux: PG_active.</summary>
    Active = 16,
}
