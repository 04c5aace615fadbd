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
    private const int LineShift = 6;

    /// <summary>What the unwritten part of a page reads as.</summary>
    private static readonly byte[] s_zeros = new byte[FrameBytes];

    private byte[][] _slabs = new byte[4][];
    private FrameInfo[][] _info = new FrameInfo[4][];
    private int _slabCount;

    /// <summary>The zero page's record: it has no storage, its extent is always empty.</summary>
    private FrameInfo _zeroInfo;

    /// <summary>Frames handed out at least once (frame numbers 1 .. _highWater). Protected by: single-threaded use.</summary>
    private int _highWater;

    /// <summary>One bit per frame number, set while the frame is free. Protected by: single-threaded use.</summary>
    private ulong[] _freeBits = new ulong[64];

    /// <summary>Free frames below <see cref="_highWater"/>. Protected by: single-threaded use.</summary>
    private int _freeCount;

    /// <summary>No free bit lies in a word below this one. Protected by: single-threaded use.</summary>
    private int _freeCursor;

    public PhysicalMemory()
    {
        _zeroInfo.RefCount = 1;
    }

    /// <summary>Frames allocated and not yet freed, the zero page excluded. Linux: the used pages of the
    /// machine (MemTotal - MemFree, for the pages this model allocates).</summary>
    public long FramesInUse { get; private set; }

    /// <summary>Bytes of frame storage reserved from the runtime: whole slabs of 512 frames.</summary>
    public long ReservedBytes => (long)_slabCount * SlabFrames * FrameBytes;

    /// <summary>
    /// A new frame, reading as zeros, with no references: the caller hands it to a page table or page cache, which
    /// take the first reference. No byte is cleared now: the frame's written extent starts empty. The lowest free
    /// frame is taken, so a process faulting a mapping in order gets frames in order, as the buddy allocator
    /// tends to give them. Linux: vma_alloc_zeroed_movable_folio(), filemap_alloc_folio().
    /// </summary>
    internal int Allocate()
    {
        int frame;
        if (_freeCount != 0)
        {
            int w = _freeCursor;
            while (_freeBits[w] == 0)
            {
                w++;
            }

            _freeCursor = w;
            int bit = System.Numerics.BitOperations.TrailingZeroCount(_freeBits[w]);
            _freeBits[w] &= ~(1UL << bit);
            _freeCount--;
            frame = (w << 6) | bit;
            Info(frame) = default;
        }
        else
        {
            if (_highWater == _slabCount * SlabFrames)
            {
                Bug.On(_highWater + SlabFrames > Pte.MaxFrames - 1, $"the model machine is out of frames ({Pte.MaxFrames} frames, 256 GiB, resident)");
                AddSlab();
            }

            frame = ++_highWater;
        }

        FramesInUse++;
        return frame;
    }

    /// <summary>A new frame holding a copy of <paramref name="source"/>'s bytes (its written lines only).
    /// Linux: wp_page_copy(), __wp_page_copy_user().</summary>
    internal int AllocateCopy(int source)
    {
        int frame = Allocate();
        ushort extent = Info(source).Extent;
        (int lo, int hi) = (extent & 0xff, extent >> 8);
        if (lo < hi)
        {
            Storage(source).Slice(lo << LineShift, (hi - lo) << LineShift).CopyTo(Storage(frame)[(lo << LineShift)..]);
            Info(frame).Extent = extent;
        }

        return frame;
    }

    /// <summary>Writes <paramref name="len"/> copies of <paramref name="value"/> at <paramref name="offset"/>.</summary>
    public void Fill(int frame, int offset, int len, byte value)
    {
        Bug.On(frame == ZeroFrame, "a write to the zero page");
        Extend(frame, offset, len);
        Storage(frame).Slice(offset, len).Fill(value);
    }

    /// <summary>Hashes <paramref name="len"/> bytes at <paramref name="offset"/> as the page holds them.</summary>
    public void Hash(int frame, int offset, int len, ref Abi.Fnv1a fnv)
    {
        ushort extent = Info(frame).Extent;
        int lo = (extent & 0xff) << LineShift, hi = (extent >> 8) << LineShift;
        int end = offset + len;
        int pos = offset;
        while (pos < end)
        {
            if (pos >= lo && pos < hi)
            {
                int n = Math.Min(end, hi) - pos;
                fnv.Add(Storage(frame).Slice(pos, n));
                pos += n;
            }
            else
            {
                int n = (pos < lo ? Math.Min(end, lo) : end) - pos;
                fnv.Add(s_zeros.AsSpan(0, n));
                pos += n;
            }
        }
    }

    /// <summary>Copies bytes of the page at <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    public void CopyOut(int frame, int offset, Span<byte> destination)
    {
        ushort extent = Info(frame).Extent;
        int lo = (extent & 0xff) << LineShift, hi = (extent >> 8) << LineShift;
        for (int i = 0; i < destination.Length;)
        {
            int pos = offset + i;
            int n;
            if (pos >= lo && pos < hi)
            {
                n = Math.Min(destination.Length - i, hi - pos);
                Storage(frame).Slice(pos, n).CopyTo(destination[i..]);
            }
            else
            {
                n = Math.Min(destination.Length - i, (pos < lo ? lo : FrameBytes) - pos);
                destination.Slice(i, n).Clear();
            }

            i += n;
        }
    }

    /// <summary>Copies <paramref name="source"/> into the page at <paramref name="offset"/>.</summary>
    public void CopyIn(int frame, int offset, ReadOnlySpan<byte> source)
    {
        Bug.On(frame == ZeroFrame, "a write to the zero page");
        Extend(frame, offset, source.Length);
        source.CopyTo(Storage(frame)[offset..]);
    }

    /// <summary>Zeroes <paramref name="len"/> bytes at <paramref name="offset"/>.</summary>
    internal void Zero(int frame, int offset, int len)
    {
        ushort extent = Info(frame).Extent;
        int lo = (extent & 0xff) << LineShift, hi = (extent >> 8) << LineShift;
        int from = Math.Max(lo, offset), to = Math.Min(hi, offset + len);
        if (from < to)
        {
            Storage(frame)[from..to].Clear();
        }
    }

    /// <summary>The 4 KiB of a frame, every byte valid (the page's unwritten lines are cleared first), for
    /// reading or writing. The zero page's bytes must never be written.</summary>
    public Span<byte> Bytes(int frame)
    {
        Bug.On(frame == ZeroFrame, "the zero page has no storage");
        Extend(frame, 0, FrameBytes);
        return Storage(frame);
    }

    /// <summary>Grows the written extent to cover [offset, offset + len), clearing the lines it adds.</summary>
    private void Extend(int frame, int offset, int len)
    {
        ref FrameInfo info = ref Info(frame);
        int lo = info.Extent & 0xff, hi = info.Extent >> 8;
        int first = offset >> LineShift, last = (offset + len + (1 << LineShift) - 1) >> LineShift;
        if (lo < hi && first >= lo && last <= hi)
        {
            return;
        }

        Span<byte> storage = Storage(frame);
        if (lo >= hi)
        {
            storage.Slice(first << LineShift, (last - first) << LineShift).Clear();
            (lo, hi) = (first, last);
        }
        else
        {
            if (first < lo)
            {
                storage.Slice(first << LineShift, (lo - first) << LineShift).Clear();
                lo = first;
            }

            if (last > hi)
            {
                storage.Slice(hi << LineShift, (last - hi) << LineShift).Clear();
                hi = last;
            }
        }

        info.Extent = (ushort)(lo | (hi << 8));
    }

    private Span<byte> Storage(int frame)
    {
        int index = frame - 1;
        return _slabs[index >> SlabShift].AsSpan((index & SlabMask) * FrameBytes, FrameBytes);
    }

    /// <summary>The bookkeeping record of a frame.</summary>
    internal ref FrameInfo Info(int frame)
    {
        if (frame == ZeroFrame)
        {
            return ref _zeroInfo;
        }

        int index = frame - 1;
        return ref _info[index >> SlabShift][index & SlabMask];
    }

    /// <summary>References to the frame: one per page-table entry mapping it and one for its page cache.
    /// Linux: folio_ref_count().</summary>
    public int RefCount(int frame) => Info(frame).RefCount;

    /// <summary>Page-table entries mapping the frame, in every address space. Linux: folio_mapcount().</summary>
    public int MapCount(int frame)
    {
        ushort small = Info(frame).MapCount;
        return small == ushort.MaxValue ? _largeMapCounts[frame] : small;
    }

    /// <summary>Map counts of 65535 and more (the record holds 16 bits; its all-ones value sends here).
    /// Protected by: single-threaded use.</summary>
    private readonly Dictionary<int, int> _largeMapCounts = [];

    /// <summary>True if the frame was written since it was last clean (page cache). Linux: folio_test_dirty().</summary>
    public bool IsDirty(int frame) => (Info(frame).Flags & FrameFlags.Dirty) != 0;

    internal void SetDirty(int frame, bool dirty)
    {
        ref FrameInfo info = ref Info(frame);
        info.Flags = dirty ? info.Flags | FrameFlags.Dirty : info.Flags & ~FrameFlags.Dirty;
    }

    /// <summary>True if MADV_FREE made the anonymous frame lazily freeable. Linux: !folio_test_swapbacked() on an anon folio.</summary>
    public bool IsLazyFree(int frame) => (Info(frame).Flags & FrameFlags.LazyFree) != 0;

    /// <summary>Linux: mm/swap.c folio_mark_lazyfree().</summary>
    internal void MarkLazyFree(int frame)
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
    internal void MarkAccessed(int frame)
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
    internal void Deactivate(int frame, bool keepActive)
    {
        if (frame == ZeroFrame)
        {
            return;
        }

        ref FrameInfo info = ref Info(frame);
        info.Flags &= ~FrameFlags.Referenced;
        info.Flags = keepActive ? info.Flags | FrameFlags.Active : info.Flags & ~FrameFlags.Active;
    }

    /// <summary>Every frame allocated and not freed (the zero page excluded), for whole-machine checks.</summary>
    internal IEnumerable<int> FramesAllocated()
    {
        for (int frame = 1; frame <= _highWater; frame++)
        {
            if ((Info(frame).Flags & FrameFlags.Free) == 0)
            {
                yield return frame;
            }
        }
    }

    /// <summary>Takes a reference. Linux: folio_get().</summary>
    internal void Get(int frame)
    {
        if (frame != ZeroFrame)
        {
            Info(frame).RefCount++;
        }
    }

    /// <summary>Drops a reference, freeing the frame with the last one. Linux: folio_put().</summary>
    internal void Put(int frame)
    {
        if (frame == ZeroFrame)
        {
            return;
        }

        ref FrameInfo info = ref Info(frame);
        Bug.On(info.RefCount <= 0 || (info.Flags & FrameFlags.Free) != 0, $"frame {frame}: put of a free frame or a zero count ({info.RefCount})");
        if (--info.RefCount == 0)
        {
            Bug.On(info.MapCount != 0, $"frame {frame}: freed while mapped {info.MapCount} times");
            info.Flags = FrameFlags.Free;
            int w = frame >> 6;
            if (w >= _freeBits.Length)
            {
                Array.Resize(ref _freeBits, Math.Max(w + 1, _freeBits.Length * 2));
            }

            _freeBits[w] |= 1UL << (frame & 63);
            _freeCount++;
            _freeCursor = Math.Min(_freeCursor, w);
            FramesInUse--;
        }
    }

    /// <summary>Counts a page-table entry mapping the frame and takes its reference. Linux: folio_add_*_rmap_pte().</summary>
    internal void Map(int frame)
    {
        if (frame != ZeroFrame)
        {
            ref FrameInfo info = ref Info(frame);
            Bug.On(info.RefCount >= 0xfffffe, $"frame {frame}: {info.RefCount} references");
            info.RefCount++;
            if (info.MapCount < ushort.MaxValue - 1)
            {
                info.MapCount++;
            }
            else if (info.MapCount == ushort.MaxValue - 1)
            {
                info.MapCount = ushort.MaxValue;
                _largeMapCounts[frame] = ushort.MaxValue;
            }
            else
            {
                _largeMapCounts[frame]++;
            }
        }
    }

    /// <summary>Drops a page-table entry's map count and reference. Linux: folio_remove_rmap_pte() + folio_put().</summary>
    internal void Unmap(int frame)
    {
        if (frame != ZeroFrame)
        {
            ref FrameInfo info = ref Info(frame);
            Bug.On(info.MapCount == 0, $"frame {frame}: map count 0 on unmap");
            if (info.MapCount != ushort.MaxValue)
            {
                info.MapCount--;
            }
            else if (--_largeMapCounts[frame] < ushort.MaxValue)
            {
                info.MapCount = (ushort)_largeMapCounts[frame];
                _largeMapCounts.Remove(frame);
            }

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
