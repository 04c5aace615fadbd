using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// An address the kernel chose for one mapping, read from the log of a process that ran with address
/// randomisation on (<c>mapwright run --follow-addresses</c>). Given to an <see cref="AddressSpace"/> for one call
/// (<see cref="AddressSpace.Follow"/>), it is consulted by that call's placement search (a mapping without
/// MAP_FIXED, a moving mremap) after the search's own checks: the mapping goes there if Linux could have chosen it
/// with some random layout, and the search's own answer is kept, with <see cref="Refusal"/> saying why, if not.
/// Linux has no such thing: the kernel's randomised bases (mm->mmap_base, the legacy base, start_brk) are what the
/// log's addresses stand for.
/// </summary>
public sealed class PlacementToFollow
{
    public PlacementToFollow(ulong address)
    {
        Address = address;
    }

    /// <summary>The address the log shows. Immutable after construction.</summary>
    public ulong Address { get; }

    /// <summary>A placement search consulted it (each is consulted once, by the first search of its call).
    /// Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    public bool Consulted { get; internal set; }

    /// <summary>The search placed the mapping at <see cref="Address"/>. Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    public bool Followed { get; internal set; }

    /// <summary>Why Linux could not have chosen <see cref="Address"/> (it overlaps a mapping of the model, is
    /// misaligned, outside the limits...), when consulted and not followed; null otherwise.
    /// Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    public string? Refusal { get; internal set; }
}
