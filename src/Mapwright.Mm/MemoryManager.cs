using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// The memory-management side of one machine: the physical memory its page tables and page caches share, its
/// live address spaces (a process and the children it forked), and the shmem files behind shared anonymous
/// mappings. Operations that Linux carries out through the reverse map (truncation, reclaim, write-seal
/// checks) visit every address space here. The machine (Mapwright.Machine) owns one and is told, through
/// <see cref="FileUnmapped"/>, when a mapping of a file goes away, so that it can free an unlinked shmem
/// file nobody holds any more.
/// Not thread-safe: drive one machine from one thread at a time.
/// Linux: the page allocator, the task list and the rmap, as far as memory management sees them.
/// </summary>
public sealed class MemoryManager
{
    private readonly List<AddressSpace> _addressSpaces = [];

    /// <summary>A memory manager on <paramref name="memory"/> whose shared anonymous mappings get files of
    /// <paramref name="shmem"/>, and whose mmap and VMA locks report to <paramref name="lockDep"/>, the
    /// machine's lock-order checker.</summary>
    public MemoryManager(PhysicalMemory memory, IShmemFiles shmem, Locking.LockDep lockDep)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(shmem);
        ArgumentNullException.ThrowIfNull(lockDep);
        Memory = memory;
        Shmem = shmem;
        LockDep = lockDep;
    }

    /// <summary>The lock-order checker of the machine. Immutable after construction.</summary>
    public Locking.LockDep LockDep { get; }

    /// <summary>Immutable after construction.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>Immutable after construction. Linux: shmem_zero_setup()'s internal mount.</summary>
    public IShmemFiles Shmem { get; }

    /// <summary>The live address spaces, oldest first. Protected by: single-threaded use.</summary>
    public IReadOnlyList<AddressSpace> AddressSpaces => _addressSpaces;

    /// <summary>Called with the inode of a file whose mapping went away (the last reference Linux drops in
    /// fput() from remove_vma()). Set once by the machine that owns this memory manager.</summary>
    public Action<Inode>? FileUnmapped { get; init; }

    internal void Add(AddressSpace mm) => _addressSpaces.Add(mm);

    internal void PutFile(Inode inode) => FileUnmapped?.Invoke(inode);

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
