using Mapwright.Diagnostics;
using Mapwright.Paging;

namespace Mapwright.Contract;

/// <summary>
/// The page cache of one inode: file page number to frame. The cache holds a reference on each of its frames;
/// every mapping of the file maps the same frames. The cache is bound to the machine's
/// <see cref="PhysicalMemory"/> on first use. Linux: struct address_space's i_pages.
/// </summary>
public sealed class PageCacheSet
{
    private readonly PageIndex _pages = new();
    private readonly List<ulong> _scratch = [];

    /// <summary>Fills a new page's bytes (host files); null means zero-filled (tmpfs, devices).</summary>
    public PageFiller? Filler { get; set; }

    /// <summary>The memory the cached frames live in, once a page was cached. Protected by: the page-cache lock.</summary>
    public PhysicalMemory? Memory { get; private set; }

    public int Count => _pages.Count;

    /// <summary>Bytes the cache's index holds, for the memory-cost reports.</summary>
    public long IndexBytes => _pages.Bytes;

    public bool Contains(ulong pgoff) => _pages.TryGetValue(pgoff, out _);

    /// <summary>True if the page is cached and was written since it was read or created.</summary>
    public bool IsDirty(ulong pgoff) => _pages.TryGetValue(pgoff, out uint frame) && Memory!.IsDirty((int)frame);

    public bool TryGet(ulong pgoff, out int frame)
    {
        bool found = _pages.TryGetValue(pgoff, out uint f);
        frame = (int)f;
        return found;
    }

    /// <summary>The cached page's frame, read in (or zero-filled) if absent.
    /// Linux: filemap_fault() / shmem_get_folio().</summary>
    public int GetOrAdd(PhysicalMemory memory, ulong pgoff)
    {
        Bind(memory);
        ref uint slot = ref _pages.GetOrAdd(pgoff, out bool existed);
        if (!existed)
        {
            int frame = memory.Allocate();
            memory.Get(frame);
            slot = (uint)frame;
            Filler?.Invoke(pgoff, memory.Bytes(frame));
        }

        return (int)slot;
    }

    /// <summary>Marks a cached page dirty, adding it if absent. Linux: folio_mark_dirty().</summary>
    internal void MarkDirty(PhysicalMemory memory, ulong pgoff) => memory.SetDirty(GetOrAdd(memory, pgoff), dirty: true);

    /// <summary>Drops the page from the cache; mappings still holding it keep the frame alive until they let go.
    /// Linux: filemap_remove_folio(), shmem_undo_range().</summary>
    internal void Remove(ulong pgoff)
    {
        if (_pages.Remove(pgoff, out uint frame))
        {
            Memory!.Put((int)frame);
        }
    }

    /// <summary>Removes every page at or after <paramref name="firstPgoff"/> (truncation).</summary>
    internal void RemoveFrom(ulong firstPgoff)
    {
        _scratch.Clear();
        _pages.CollectKeys(firstPgoff, ulong.MaxValue - 1, _scratch);
        foreach (ulong p in _scratch)
        {
            Remove(p);
        }

        _scratch.Clear();
    }

    /// <summary>Zeroes the bytes of the last page past <paramref name="size"/> (truncate_inode_partial_folio).</summary>
    internal void ZeroTail(ulong size)
    {
        ulong pgoff = size >> Abi.PageConstants.PageShift;
        int offset = (int)(size & (Abi.PageConstants.PageSize - 1));
        if (offset != 0 && _pages.TryGetValue(pgoff, out uint frame))
        {
            Memory!.Zero((int)frame, offset, (int)Abi.PageConstants.PageSize - offset);
        }
    }

    private void Bind(PhysicalMemory memory)
    {
        if (Memory is null)
        {
            Memory = memory;
            return;
        }

        Bug.On(!ReferenceEquals(Memory, memory), "page cache: one inode's pages used by the address spaces of two machines");
    }
}
