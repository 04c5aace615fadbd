using Mapwright.Diagnostics;

namespace Mapwright.Paging;

/// <summary>
/// The page frames of one modelled machine: their bytes, kept in 2 MiB slabs so that a million resident pages
/// are a few thousand large arrays the garbage collector never scans, and a small record per frame (reference
/// count, map count, flags). A frame is an <see cref="int"/>; frame 0 is the shared zero page, whose bytes are
/// never written.
/// Not thread-safe: the address spaces and page caches of one machine use it from one thread at a time.
/// Linux: the struct page / struct folio array (mem_map) and the page allocator; mm/memory.c ZERO_PAGE.
/// </summary>
public sealed class PhysicalMemory
{
    /// <summary>The shared zero page. Linux: ZERO_PAGE(0), my_zero_pfn().</summary>
    public const int ZeroFrame = 0;

    private const int SlabShift = 9;
    private const int SlabFrames = 1 << SlabShift;
    private const int SlabMask = SlabFrames - 1;
    private const int FrameBytes = (int)Abi.PageConstants.PageSize;

    private byte[][] _slabs = new byte[4][];
    private FrameInfo[][] _info = new FrameInfo[4][];
    private int _slabCount;

    /// <summary>Frames handed out at least once; frames below it are in use or on the free list.
    /// Protected by: single-threaded use.</summary>
    private int _highWater;

    /// <summary>Head of the free list (linked through <see cref="FrameInfo.MapCount"/>), or -1.
    /// Protected by: single-threaded use.</summary>
    private int _freeHead = -1;

    public PhysicalMemory()
    {
        // Frame 0 is the zero page: never freed, never written, never counted.
        _highWater = 1;
        AddSlab();
        Info(ZeroFrame).RefCount = 1;
    }

    /// <summary>Frames allocated and not yet freed, the zero page excluded. Linux: the used pages of the
    /// machine (MemTotal - MemFree, for the pages this model allocates).</summary>
    public long FramesInUse { get; private set; }

    /// <summary>Bytes of frame storage reserved from the runtime: whole slabs.</summary>
    public long ReservedBytes => (long)_slabCount * SlabFrames * FrameBytes;

    /// <summary>
    /// A new frame, zero-filled, with no references: the caller hands it to a page table or page cache, which
    /// take the first reference. Linux: vma_alloc_zeroed_movable_folio(), filemap_alloc_folio().
    /// </summary>
    public int Allocate()
    {
        int frame;
        if (_freeHead >= 0)
        {
            frame = _freeHead;
            ref FrameInfo info = ref Info(frame);
            _freeHead = info.MapCount;
            info = default;
            Bytes(frame).Clear();
        }
        else
        {
            if (_highWater == _slabCount * SlabFrames)
            {
                AddSlab();
            }

            // Fresh slab memory is zeroed by the runtime.
            frame = _highWater++;
        }

        FramesInUse++;
        return frame;
    }

    /// <summary>A new frame holding a copy of <paramref name="source"/>'s bytes. Linux: wp_page_copy(),
    /// __wp_page_copy_user().</summary>
    public int AllocateCopy(int source)
    {
        int frame = Allocate();
        if (source != ZeroFrame)
        {
            Bytes(source).CopyTo(Bytes(frame));
        }

        return frame;
    }

    /// <summary>The 4 KiB of a frame. The zero page's bytes must never be written.</summary>
    public Span<byte> Bytes(int frame) => _slabs[frame >> SlabShift].AsSpan((frame & SlabMask) * FrameBytes, FrameBytes);

    /// <summary>The bookkeeping record of a frame.</summary>
    internal ref FrameInfo Info(int frame) => ref _info[frame >> SlabShift][frame & SlabMask];

    /// <summary>References to the frame: one per page-table entry mapping it and one for its page cache.
    /// Linux: folio_ref_count().</summary>
    public int RefCount(int frame) => Info(frame).RefCount;

    /// <summary>Page-table entries mapping the frame, in every address space. Linux: folio_mapcount().</summary>
    public int MapCount(int frame) => Info(frame).MapCount;

    /// <summary>True if the frame was written since it was last clean (page cache). Linux: folio_test_dirty().</summary>
    public bool IsDirty(int frame) => (Info(frame).Flags & FrameFlags.Dirty) != 0;

    public void SetDirty(int frame, bool dirty)
    {
        ref FrameInfo info = ref Info(frame);
        info.Flags = dirty ? info.Flags | FrameFlags.Dirty : info.Flags & ~FrameFlags.Dirty;
    }

    /// <summary>True if MADV_FREE made the anonymous frame lazily freeable. Linux: !folio_test_swapbacked() on an anon folio.</summary>
    public bool IsLazyFree(int frame) => (Info(frame).Flags & FrameFlags.LazyFree) != 0;

    /// <summary>Linux: mm/swap.c folio_mark_lazyfree().</summary>
    public void MarkLazyFree(int frame)
    {
        if (frame != ZeroFrame)
        {
            Info(frame).Flags |= FrameFlags.LazyFree;
        }
    }

    /// <summary>True if the frame was marked accessed since it was last activated. Linux: folio_test_referenced().</summary>
    public bool IsReferenced(int frame) => (Info(frame).Flags & FrameFlags.Referenced) != 0;

    /// <summary>
    /// Marks the frame accessed: the first time it becomes referenced, the second time it is activated and
    /// its referenced bit cleared, then referenced again. Linux: mm/swap.c folio_mark_accessed() (without
    /// multi-gen LRU, and without the unevictable case, which the model does not track).
    /// </summary>
    public void MarkAccessed(int frame)
    {
        if (frame == ZeroFrame)
        {
            return;
        }

        ref FrameInfo info = ref Info(frame);
        if ((info.Flags & FrameFlags.Referenced) == 0)
        {
            info.Flags |= FrameFlags.Referenced;
        }
        else if ((info.Flags & FrameFlags.Active) == 0)
        {
            info.Flags = (info.Flags | FrameFlags.Active) & ~FrameFlags.Referenced;
        }
    }

    /// <summary>Clears the referenced bit and the active state (or, with <paramref name="keepActive"/>, makes
    /// the page active: reclaim gave up on it). Linux: folio_clear_referenced(), lru_deactivate(),
    /// shrink_folio_list() activate_locked.</summary>
    public void Deactivate(int frame, bool keepActive)
    {
        if (frame == ZeroFrame)
        {
            return;
        }

        ref FrameInfo info = ref Info(frame);
        info.Flags &= ~FrameFlags.Referenced;
        info.Flags = keepActive ? info.Flags | FrameFlags.Active : info.Flags & ~FrameFlags.Active;
    }

    /// <summary>Takes a reference. Linux: folio_get().</summary>
    public void Get(int frame)
    {
        if (frame != ZeroFrame)
        {
            Info(frame).RefCount++;
        }
    }

    /// <summary>Drops a reference, freeing the frame with the last one. Linux: folio_put().</summary>
    public void Put(int frame)
    {
        if (frame == ZeroFrame)
        {
            return;
        }

        ref FrameInfo info = ref Info(frame);
        Bug.On(info.RefCount <= 0, $"frame {frame}: reference count {info.RefCount} on put");
        if (--info.RefCount == 0)
        {
            Bug.On(info.MapCount != 0, $"frame {frame}: freed while mapped {info.MapCount} times");
            info.Flags = FrameFlags.Free;
            info.MapCount = _freeHead;
            _freeHead = frame;
            FramesInUse--;
        }
    }

    /// <summary>Counts a page-table entry mapping the frame and takes its reference. Linux: folio_add_*_rmap_pte().</summary>
    internal void Map(int frame)
    {
        if (frame != ZeroFrame)
        {
            ref FrameInfo info = ref Info(frame);
            info.RefCount++;
            info.MapCount++;
        }
    }

    /// <summary>Drops a page-table entry's map count and reference. Linux: folio_remove_rmap_pte() + folio_put().</summary>
    internal void Unmap(int frame)
    {
        if (frame != ZeroFrame)
        {
            ref FrameInfo info = ref Info(frame);
            Bug.On(info.MapCount <= 0, $"frame {frame}: map count {info.MapCount} on unmap");
            info.MapCount--;
            Put(frame);
        }
    }

    private void AddSlab()
    {
        if (_slabCount == _slabs.Length)
        {
            Array.Resize(ref _slabs, _slabs.Length * 2);
            Array.Resize(ref _info, _info.Length * 2);
        }

        _slabs[_slabCount] = new byte[SlabFrames * FrameBytes];
        _info[_slabCount] = new FrameInfo[SlabFrames];
        _slabCount++;
    }
}
