namespace Mapwright.Locking;

/// <summary>
/// The class of a lock, as the order checker sees it: every lock of one kind (every address space's mmap lock,
/// every VMA's lock) shares one class, and the order rules are between classes, not instances.
/// Immutable after construction. Linux: include/linux/lockdep_types.h struct lock_class_key.
/// </summary>
public sealed class LockClass
{
    public LockClass(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>The mmap lock of every address space. Linux: mm->mmap_lock.</summary>
    public static LockClass MmapLock { get; } = new("mmap_lock");

    /// <summary>The per-VMA lock of every VMA. Linux: vma->vm_refcnt / vmlock_dep_map.</summary>
    public static LockClass VmaLock { get; } = new("vma_lock");

    public string Name { get; }

    public override string ToString() => Name;
}
