using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>
/// The mmap lock of one address space: reader/writer, owner-tracked (the model runs one task, so the owner
/// is "held by the current task"), with the sequence number that ends every VMA write lock when the write
/// lock is released. Linux: include/linux/mmap_lock.h (mmap_write_lock, mm_lock_seq).
/// </summary>
public sealed class MmapLock
{
    private int _readers;
    private bool _writer;

    /// <summary>Bumped on every write unlock: a VMA is write-locked while its sequence equals this one and
    /// the lock is held for write. Linux: mm->mm_lock_seq.</summary>
    public long Sequence { get; private set; }

    public bool IsWriteLocked => _writer;

    public bool IsReadLocked => _readers > 0;

    public bool IsLocked => _writer || _readers > 0;

    /// <summary>Takes the lock for write; dispose the result to release it.</summary>
    public WriteScope Write()
    {
        Bug.On(_writer || _readers > 0, $"mmap_write_lock: lock already held (writer={_writer}, readers={_readers}): self-deadlock");
        _writer = true;
        return new WriteScope(this, Sequence);
    }

    /// <summary>Takes the lock for read; dispose the result to release it.</summary>
    public ReadScope Read()
    {
        Bug.On(_writer, "mmap_read_lock: lock held for write by the same task: self-deadlock");
        _readers++;
        return new ReadScope(this);
    }

    /// <summary>Releases the write lock, ending every VMA write lock. Linux: mmap_write_unlock().</summary>
    public void WriteUnlock()
    {
        Bug.On(!_writer, "mmap_write_unlock: the lock is not held for write");
        _writer = false;
        Sequence++;
    }

    internal void ReadUnlock()
    {
        Bug.On(_readers == 0, "mmap_read_unlock: the lock is not held for read");
        _readers--;
    }

    /// <summary>Releases the write lock taken by <see cref="Write"/> unless a hook already released it (the
    /// BUG for that is raised by the caller's assertion, not here).</summary>
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
