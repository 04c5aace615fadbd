namespace Mapwright.Paging;

/// <summary>
/// What the model keeps per page frame: 8 bytes. The reference count and flags share a word; the written extent
/// says which 64-byte lines hold data (the rest of the page reads as zero and need not be cleared), so taking a
/// frame costs no clearing and a first write clears only the lines it reaches.
/// Linux: the counts and flags of struct folio (Linux clears the whole page instead: clear_page()).
/// </summary>
internal struct FrameInfo
{
    private const uint RefMask = 0x00ffffff;

    /// <summary>References (low 24 bits) and <see cref="FrameFlags"/> (high 8 bits). Protected by: single-threaded use.</summary>
    private uint _refAndFlags;

    /// <summary>Page-table entries mapping the frame; all ones means 65535 or more, kept aside by PhysicalMemory.
    /// Protected by: single-threaded use.</summary>
    public ushort MapCount;

    /// <summary>Lines [low byte, high byte) of 64 bytes hold the page's data; empty (low == high) reads as
    /// all zeros. Protected by: single-threaded use.</summary>
    public ushort Extent;

    public int RefCount
    {
        readonly get => (int)(_refAndFlags & RefMask);
        set => _refAndFlags = (_refAndFlags & ~RefMask) | ((uint)value & RefMask);
    }

    public FrameFlags Flags
    {
        readonly get => (FrameFlags)(_refAndFlags >> 24);
        set => _refAndFlags = (_refAndFlags & RefMask) | ((uint)value << 24);
    }
}
