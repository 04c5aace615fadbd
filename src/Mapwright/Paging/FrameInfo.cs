namespace Mapwright.Paging;

/// <summary>What the model keeps per page frame: 12 bytes. Linux: the counts and flags of struct folio.</summary>
internal struct FrameInfo
{
    /// <summary>References: page-table entries and the page cache. Protected by: single-threaded use.</summary>
    public int RefCount;

    /// <summary>Page-table entries mapping the frame; the next free frame while the frame is free.
    /// Protected by: single-threaded use.</summary>
    public int MapCount;

    /// <summary>Protected by: single-threaded use.</summary>
    public FrameFlags Flags;
}
