namespace Mapwright.Locking;

/// <summary>
/// Names the lock that protects a field or property: only a holder of that lock may change it (the mode is in the
/// member's documentation, "Protected by: mmap lock (write)"). A member so marked has no public or protected setter
/// and, for a field, is not public, so that nobody outside the model can change it without the lock; a test
/// (HouseRulesTests) checks it. Linux writes this as a comment ("protected by mmap_lock") next to the field; the
/// attribute is the machine-readable form of that comment, as Clang's thread-safety attribute <c>guarded_by</c> is.
/// Internal: the assemblies this one lets see its internals (Mm, Vfs, Mapwright, ...) mark their members with it.
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false, Inherited = true)]
internal sealed class GuardedByAttribute : Attribute
{
    /// <summary>Marks a member protected by <paramref name="lockName"/>, named as Linux names it (<c>mmap_lock</c>).</summary>
    public GuardedByAttribute(string lockName) => LockName = lockName;

    /// <summary>The lock, named as Linux names it (<c>mmap_lock</c>). Immutable after construction.</summary>
    public string LockName { get; }
}
