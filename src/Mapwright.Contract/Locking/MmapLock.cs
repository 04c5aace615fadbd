using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>
/// The mmap lock of one address space: reader/writer, owner-tracked (the model runs one task, so the owner
/// is "held by the current task"), with the sequence number that ends every VMA write lock when the write
/// lock is released or downgraded. Every acquisition and release is reported to the machine's
/// <see cref="LockDep"/> (class <see cref="LockClass.MmapLock"/>).
/// Linux: include/linux/mmap_lock.h (mmap_write_lock, mmap_write_downgrade, mm_lock_seq).
/// </summary>
public sealed class MmapLock
{
    private int _readers;
    private bool _writer;

    /// <summary>The sequence at which the write lock was last downgraded, or -1: a <see cref="WriteScope"/>
    /// whose lock was downgraded releases the read lock the downgrade left.</summary>
    private long _downgradedFrom = -1;

    internal MmapLock()
        : this(null)
    {
    }

    /// <summary>A lock whose acquisitions <paramref name="lockDep"/> checks (the machine's checker).</summary>
    internal MmapLock(LockDep? lockDep)
    {
        LockDep = lockDep;
        Checker = lockDep is { IsEnabled: true } ? lockDep : null;
    }

    /// <summary>The order checker of the machine this lock belongs to, or null. Immutable after construction.</summary>
    public LockDep? LockDep { get; }

    /// <summary><see cref="LockDep"/> when it checks (its switch is read once, when it is made), else null: what
    /// the fast paths of this lock and of the VMA locks under it report to, at the cost of one null test, as
    /// Linux's lock_acquire() compiles away without CONFIG_PROVE_LOCKING.</summary>
    internal LockDep? Checker { get; }

    /// <summary>Bumped on every write unlock and downgrade: a VMA is write-locked while its sequence equals this
    /// one and the lock is held for write. Linux: mm->mm_lock_seq.</summary>
    public long Sequence { get; private set; }

    public bool IsWriteLocked => _writer;

    public bool IsReadLocked => _readers > 0;

    public bool IsLocked => _writer || _readers > 0;

    /// <summary>Takes the lock for write; dispose the result to release it (or the read lock a
    /// <see cref="Downgrade"/> left). Linux: mmap_write_lock_killable().</summary>
    internal WriteScope Write() => WriteCore(nested: false);

    /// <summary>As <see cref="Write"/> for a second address space's lock taken under this task's first, as
    /// dup_mmap() takes the child's under the parent's. Linux: mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING).</summary>
    internal WriteScope WriteNested() => WriteCore(nested: true);

    private WriteScope WriteCore(bool nested)
    {
        if (_writer || _readers > 0)
        {
            ThrowSelfDeadlock();
        }

        Checker?.Acquire(LockClass.MmapLock, this, nested);
        _writer = true;
        return new WriteScope(this, Sequence);
    }

    /// <summary>Takes the lock for read; dispose the result to release it. Linux: mmap_read_lock().</summary>
    internal ReadScope Read()
    {
        if (_writer || _readers > 0)
        {
            ThrowRecursiveRead();
        }

        Checker?.Acquire(LockClass.MmapLock, this);
        _readers++;
        return new ReadScope(this);
    }

    /// <summary>Releases the write lock, ending every VMA write lock. Linux: mmap_write_unlock(), which Linux exports
    /// to modules: a driver hook can call it, and the model then reports the hook's bug (the example device
    /// <c>unlocker</c> does this on purpose).</summary>
    public void WriteUnlock()
    {
        if (!_writer)
        {
            Bug.Throw("mmap_write_unlock: the lock is not held for write");
        }

        Checker?.Release(LockClass.MmapLock, this);
        _writer = false;
        Sequence++;
    }

    /// <summary>Turns the write lock into a read lock without releasing it: VMA write locks end, readers may
    /// enter. The <see cref="WriteScope"/> that took the lock then releases the read lock.
    /// Linux: mmap_write_downgrade() (→ vma_end_write_all()), as munmap does before it frees the VMAs
    /// (mm/vma.c vms_complete_munmap_vmas()).</summary>
    internal void Downgrade()
    {
        Bug.On(!_writer, "mmap_write_downgrade: the lock is not held for write");
        _writer = false;
        Sequence++;
        _readers++;
        _downgradedFrom = Sequence;
    }

    /// <summary>Releases the write lock and takes the read lock, as a call that changed the mappings and then
    /// faults pages in does (the <see cref="WriteScope"/> that took the lock then releases the read lock).
    /// Linux: mmap_write_unlock() then mm_populate() → __mm_populate() → mmap_read_lock() (mlock, brk,
    /// mremap of a locked VMA).</summary>
    internal void RelockForRead()
    {
        WriteUnlock();
        Checker?.Acquire(LockClass.MmapLock, this);
        _readers++;
        _downgradedFrom = Sequence;
    }

    internal void ReadUnlock()
    {
        if (_readers == 0)
        {
            Bug.Throw("mmap_read_unlock: the lock is not held for read");
        }

        Checker?.Release(LockClass.MmapLock, this);
        _readers--;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowSelfDeadlock() =>
        Bug.Throw($"mmap_write_lock: lock already held (writer={_writer}, readers={_readers}): self-deadlock");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowRecursiveRead() => Bug.Throw(_writer
        ? "mmap_read_lock: lock held for write by the same task: self-deadlock"
        : "mmap_read_lock: lock already held for read by the same task (a recursive read can deadlock behind a waiting writer)");

    /// <summary>Releases the write lock taken by <see cref="Write"/>, or the read lock it was downgraded to,
    /// unless a hook already released it (the BUG for that is raised by the caller's assertion, not here).</summary>
    public readonly struct WriteScope : IDisposable
    {
        private readonly MmapLock _lock;
        private readonly long _sequence;

        internal WriteScope(MmapLock mmapLock, long sequence)
        {
            _lock = mmapLock;
            _sequence = sequence;
        }

        public void Dispose()
        {
            if (_lock._writer && _lock.Sequence == _sequence)
            {
                _lock.WriteUnlock();
            }
            else if (_lock._readers > 0 && _lock._downgradedFrom == _sequence + 1 && _lock.Sequence == _sequence + 1)
            {
                _lock._downgradedFrom = -1;
                _lock.ReadUnlock();
            }
        }
    }

    public readonly struct ReadScope : IDisposable
    {
        private readonly MmapLock _lock;

        internal ReadScope(MmapLock mmapLock)
        {
            _lock = mmapLock;
        }

        public void Dispose() => _lock.ReadUnlock();
    }
}
