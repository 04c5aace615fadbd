namespace Mapwright.Vfs;

/// <summary>One page-cache page: 4 KiB of data and whether it was written. Linux: a struct folio of order 0.</summary>
public sealed class CachePage
{
    public CachePage(byte[] data)
    {
        Data = data;
    }

    /// <summary>The page's bytes; mappings of the page share this array. Protected by: the page lock.</summary>
    public byte[] Data { get; }

    public bool Dirty { get; set; }
}
