namespace Mapwright.Vfs;

/// <summary>
/// The page cache of one file: its resident pages by page offset, each with its bytes and a dirty flag.
/// A page is created zero-filled, or filled from the host file behind the inode.
/// Linux: struct address_space i_pages and its folios.
/// </summary>
public sealed class PageCacheSet
{
    private readonly Dictionary<ulong, CachePage> _pages = [];

    /// <summary>Fills a new page's bytes (host files); null means zero-filled (tmpfs, devices).</summary>
    public Action<ulong, byte[]>? Filler { get; set; }

    public int Count => _pages.Count;

    public bool Contains(ulong pgoff) => _pages.ContainsKey(pgoff);

    /// <summary>True if the page is cached and was written since it was read or created.</summary>
    public bool IsDirty(ulong pgoff) => _pages.TryGetValue(pgoff, out CachePage? p) && p.Dirty;

    /// <summary>The cached page, read in (or zero-filled) if absent. Linux: filemap_fault() / shmem_get_folio().</summary>
    public CachePage GetOrAdd(ulong pgoff)
    {
        if (!_pages.TryGetValue(pgoff, out CachePage? page))
        {
            page = new CachePage(new byte[Abi.PageConstants.PageSize]);
            Filler?.Invoke(pgoff, page.Data);
            _pages[pgoff] = page;
        }

        return page;
    }

    public bool TryGet(ulong pgoff, out CachePage? page) => _pages.TryGetValue(pgoff, out page);

    /// <summary>Adds a page (clean) if absent.</summary>
    public void Add(ulong pgoff) => GetOrAdd(pgoff);

    /// <summary>Marks a cached page dirty, adding it if absent.</summary>
    public void MarkDirty(ulong pgoff) => GetOrAdd(pgoff).Dirty = true;

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

    /// <summary>Zeroes the bytes of the last page past <paramref name="size"/> (truncate_inode_partial_folio).</summary>
    public void ZeroTail(ulong size)
    {
        ulong pgoff = size >> Abi.PageConstants.PageShift;
        int offset = (int)(size & (Abi.PageConstants.PageSize - 1));
        if (offset != 0 && _pages.TryGetValue(pgoff, out CachePage? page))
        {
            Array.Clear(page.Data, offset, page.Data.Length - offset);
        }
    }
}
