using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// One modelled machine: the physical memory its page tables and page caches share, and its live address
/// spaces (a process and the children it forked). Operations that Linux carries out through an inode's reverse
/// map (truncation, reclaim, write-seal checks) visit every address space here.
/// Not thread-safe: drive one machine from one thread at a time.
/// Linux: the page allocator and the task list, as far as memory management sees them.
/// </summary>
public sealed class Machine
{
    private readonly List<AddressSpace> _addressSpaces = [];

    public Machine()
        : this(new PhysicalMemory())
    {
    }

    public Machine(PhysicalMemory memory)
    {
        Memory = memory;
    }

    /// <summary>Immutable after construction.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The live address spaces, oldest first. Protected by: single-threaded use.</summary>
    public IReadOnlyList<AddressSpace> AddressSpaces => _addressSpaces;

    internal void Add(AddressSpace mm) => _addressSpaces.Add(mm);

    private readonly List<Vfs.FdTable> _fdTables = [];

    /// <summary>Registers a process's descriptor table: its open files keep shmem objects alive.</summary>
    public void AddFdTable(Vfs.FdTable files) => _fdTables.Add(files);

    public void RemoveFdTable(Vfs.FdTable files) => _fdTables.Remove(files);

    /// <summary>
    /// Frees an unlinked shmem object's pages (memfd, shared anonymous memory) once no descriptor and no
    /// mapping in the machine refers to it: Linux releases the file with its last reference (fput() →
    /// shmem_evict_inode() → shmem_truncate_range()). Other inodes keep their page cache.
    /// </summary>
    public void ReleaseIfUnused(Vfs.Inode inode)
    {
        if (!inode.IsShmem || inode.PageCache.Count == 0)
        {
            return;
        }

        foreach (AddressSpace mm in _addressSpaces)
        {
            if (mm.MapsInode(inode))
            {
                return;
            }
        }

        foreach (Vfs.FdTable files in _fdTables)
        {
            if (files.References(inode))
            {
                return;
            }
        }

        inode.PageCache.RemoveFrom(0);
    }

    /// <summary>
    /// Whole-machine page check: every frame's map count equals the page-table entries mapping it in all
    /// address spaces, and its other references are at most one (its page cache). Run by
    /// <see cref="AddressSpace.Validate"/>. Linux: the folio_mapcount() / folio_ref_count() invariants
    /// CONFIG_DEBUG_VM asserts piecemeal.
    /// </summary>
    internal void ValidateFrames()
    {
        var mapped = new Dictionary<int, int>();
        var entries = new List<(ulong Vpn, Paging.Pte Pte)>();
        foreach (AddressSpace mm in _addressSpaces)
        {
            entries.Clear();
            mm.Pages.CollectPresent(0, ulong.MaxValue - 1, entries);
            foreach ((ulong vpn, Paging.Pte pte) in entries)
            {
                if (pte.HasFrame)
                {
                    Diagnostics.Bug.On(pte.Frame == Paging.PhysicalMemory.ZeroFrame, $"pte {vpn:x} maps the zero page as a data page");
                    mapped[pte.Frame] = mapped.GetValueOrDefault(pte.Frame) + 1;
                }
            }
        }

        foreach (int frame in Memory.FramesAllocated())
        {
            int mappers = mapped.GetValueOrDefault(frame);
            int mapcount = Memory.MapCount(frame), refs = Memory.RefCount(frame);
            Diagnostics.Bug.On(mapcount != mappers, $"frame {frame}: map count {mapcount}, mapped by {mappers} entries");
            Diagnostics.Bug.On(refs - mapcount is not (0 or 1), $"frame {frame}: {refs} references for {mapcount} mappings");
            mapped.Remove(frame);
        }

        Diagnostics.Bug.On(mapped.Count != 0, $"{mapped.Count} entries map freed frames");
    }

    internal void Remove(AddressSpace mm) => _addressSpaces.Remove(mm);
}
