namespace Mapwright.Contract;

/// <summary>Reads file page <paramref name="pgoff"/> into a new page-cache page's bytes (zero-filled before).
/// Linux: address_space_operations.read_folio.</summary>
public delegate void PageFiller(ulong pgoff, Span<byte> data);
