namespace Mapwright.Vfs;

/// <summary>Which pages of a file are in the page cache, by page offset. Linux: struct address_space i_pages.</summary>
public sealed class PageCacheSet
{
    private readonly HashSet<ulong> _pages = [];

    public bool Contains(ulong pgoff) => _pages.Contains(pgoff);

    public void Add(ulong pgoff) => _pages.Add(pgoff);

    public void Remove(ulong pgoff) => _pages.Remove(pgoff);

    public int Count => _pages.Count;
}
