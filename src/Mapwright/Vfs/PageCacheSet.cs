namespace Mapwright.Vfs;

/// <summary>Which pages of a file are in the page cache, by page offset, and whether each is dirty.
/// Linux: struct address_space i_pages and the folio dirty flag.</summary>
public sealed class PageCacheSet
{
    private readonly Dictionary<ulong, bool> _pages = [];

    public int Count => _pages.Count;

    public bool Contains(ulong pgoff) => _pages.ContainsKey(pgoff);

    /// <summary>True if the page is cached and was written since it was read or created.</summary>
    public bool IsDirty(ulong pgoff) => _pages.TryGetValue(pgoff, out bool dirty) && dirty;

    /// <summary>Adds a page (clean) if absent.</summary>
    public void Add(ulong pgoff) => _pages.TryAdd(pgoff, false);

    /// <summary>Marks a cached page dirty, adding it if absent.</summary>
    public void MarkDirty(ulong pgoff) => _pages[pgoff] = true;

    public void Remove(ulong pgoff) => _pages.Remove(pgoff);

    /// <summary>Removes every page at or after <paramref name="firstPgoff"/> (truncation).</summary>
    public void RemoveFrom(ulong firstPgoff)
    {
        List<ulong>? doomed = null;
        foreach (ulong p in _pages.Keys)
        {
            if (p >= firstPgoff)
            {
                (doomed ??= []).Add(p);
            }
        }

        if (doomed is not null)
        {
            foreach (ulong p in doomed)
            {
                _pages.Remove(p);
            }
        }
    }
}
