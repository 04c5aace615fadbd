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

    internal void Remove(AddressSpace mm) => _addressSpaces.Remove(mm);
}
