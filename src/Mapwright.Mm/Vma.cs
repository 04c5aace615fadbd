using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// A virtual memory area: a page-aligned range [Start, End) with uniform flags and backing.
/// The VMA is also its own node in the address space's <see cref="VmaTree"/>.
/// Linux: include/linux/mm_types.h struct vm_area_struct.
/// </summary>
public sealed class Vma : IVmArea
{
    internal Vma(ulong start, ulong end, ulong pgoff, VmFlags flags, MappedFile? file)
    {
        Start = start;
        End = end;
        PgOff = pgoff;
        Flags = flags;
        File = file;
    }

    /// <summary>First address. Protected by: mmap lock (write); changed only through <see cref="VmaTree.SetRange"/>.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong Start { get; internal set; }

    /// <summary>One past the last address. Protected by: mmap lock (write); changed only through <see cref="VmaTree.SetRange"/>.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong End { get; internal set; }

    /// <summary>Page offset of <see cref="Start"/> in the file; for an anonymous VMA, the virtual page it was
    /// first mapped at. Protected by: mmap lock (write). Linux: vm_pgoff.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong PgOff
    {
        get => _pgoff;
        internal set
        {
            if (value != _pgoff)
            {
                _pgoff = value;
                Changed();
            }
        }
    }

    /// <summary>Protected by: mmap lock (write). Linux: vm_flags.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public VmFlags Flags
    {
        get => _flags;
        internal set
        {
            if (value != _flags)
            {
                _flags = value;
                Changed();
            }
        }
    }

    /// <summary>The mapped file, null for anonymous memory. Protected by: mmap lock (write). Linux: vm_file.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public MappedFile? File
    {
        get => _file;
        internal set
        {
            if (value != _file)
            {
                _file = value;
                Changed();
            }
        }
    }

    /// <summary>Driver callbacks, or null. Protected by: mmap lock (write). Linux: vm_ops.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public VmOperations? VmOps
    {
        get => _vmOps;
        internal set
        {
            if (value != _vmOps)
            {
                _vmOps = value;
                Changed();
            }
        }
    }

    /// <summary>Protected by: mmap lock (write). Linux: vm_private_data.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public object? PrivateData { get; internal set; }

    /// <summary>Reverse-map root, set on the first write fault of private memory. Protected by: mmap lock
    /// (write) or mmap lock (read) and the page table lock. Linux: anon_vma.</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal AnonVma? AnonVma { get; set; }

    /// <summary>The VMA's anon_vma chain links more than its own anon_vma: it was forked from a parent that had
    /// anonymous pages (or split or moved from such a VMA). Such VMAs do not lend or borrow an anon_vma in a
    /// merge. Protected by: mmap lock (write).
    /// Linux: !list_is_singular(&amp;vma->anon_vma_chain), mm/vma.c vma_is_fork_child().</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal bool ForkedAnon { get; set; }

    /// <summary>The mmap lock sequence at which this VMA was write-locked, or -1. Protected by: mmap lock
    /// (write). Linux: vma->vm_lock_seq.</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal long VmLockSeq { get; set; } = -1;

    /// <summary>The address space, for lock queries. Immutable after linking.</summary>
    internal AddressSpace? Mm { get; set; }

    /// <inheritdoc/>
    IMmView? IVmArea.Mm => Mm;

    /// <summary>True while this VMA is write-locked: its lock sequence is the mm's and the mmap lock is held for
    /// write. Every VMA write lock ends when the mmap write lock is released. Linux: vma_is_write_locked()-like
    /// check of vm_lock_seq against mm_lock_seq.</summary>
    public bool IsWriteLocked => Mm is { } mm && mm.MmapLock.IsWriteLocked && VmLockSeq == mm.MmapLock.Sequence;

    /// <summary>Write-locks the VMA; the mmap lock must be held for write. The write lock lasts until the mmap
    /// write lock is released or downgraded; the order checker sees it as taken and released at once, as
    /// Linux's lockdep map of the VMA lock does. Linux: vma_start_write(), __vma_start_write().</summary>
    public void StartWrite()
    {
        Locking.MmapLock? mmapLock = Mm?.MmapLock;
        if (mmapLock is null || !mmapLock.IsWriteLocked || _readers > 0)
        {
            ThrowStartWriteBug();
        }

        if (VmLockSeq == mmapLock.Sequence)
        {
            return;
        }

        mmapLock.Checker?.AcquireRelease(Locking.LockClass.VmaLock, this);
        VmLockSeq = mmapLock.Sequence;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowEndReadBug() => Diagnostics.Bug.Throw($"vma_end_read on {this}, which is not read-locked");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private void ThrowStartWriteBug() => Diagnostics.Bug.Throw(Mm is null || !Mm.MmapLock.IsWriteLocked
        ? $"vma_start_write on {this} without the mmap write lock"
        : $"vma_start_write on {this} while this task holds its read lock: self-deadlock");

    /// <summary>Read locks of this VMA held by the task (the fault path). Protected by: the VMA lock itself.
    /// Linux: vma->vm_refcnt (readers).</summary>
    [Locking.GuardedBy("vma_lock")]
    private int _readers;

    /// <summary>True while the task holds this VMA's read lock (a fault handled without the mmap lock).</summary>
    public bool IsReadLocked => _readers > 0;

    /// <summary>Read-locks the VMA for a fault without the mmap lock. Fails (false) where Linux's
    /// vma_start_read() fails: the VMA is write-locked, or detached. Linux: include/linux/mmap_lock.h
    /// vma_start_read(), mm/mmap_lock.c lock_vma_under_rcu().</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal bool TryStartRead()
    {
        // One load of the lock, not IsWriteLocked's second walk through Mm: this runs on every fault.
        Locking.MmapLock? mmapLock = Mm?.MmapLock;
        if (mmapLock is null || (mmapLock.IsWriteLocked && VmLockSeq == mmapLock.Sequence))
        {
            return false;
        }

        mmapLock.Checker?.Acquire(Locking.LockClass.VmaLock, this);
        _readers++;
        return true;
    }

    /// <summary>Releases a read lock taken by <see cref="TryStartRead"/>. Linux: vma_end_read().</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void EndRead()
    {
        if (_readers == 0)
        {
            ThrowEndReadBug();
        }

        _readers--;
        Mm!.MmapLock.Checker?.Release(Locking.LockClass.VmaLock, this);
    }

    // ---- what a driver's legacy mmap hook may change on the VMA it is given (not yet in the tree) ----

    /// <summary>Sets flags from a driver hook (vm_flags_set/clear). Linux: include/linux/mm.h vm_flags_reset().</summary>
    public void SetFlagsForDriver(VmFlags flags) => Flags = flags;

    /// <summary>Linux: vma->vm_ops = ... in a driver's mmap hook.</summary>
    public void SetVmOpsForDriver(VmOperations? ops) => VmOps = ops;

    /// <summary>Linux: vma->vm_private_data = ...</summary>
    public void SetPrivateDataForDriver(object? data) => PrivateData = data;

    /// <summary>Replaces the mapped file (shmem_zero_setup, stacked file systems). Linux: vma_set_file().</summary>
    public void SetFileForDriver(MappedFile? file) => File = file;

    /// <summary>Sets the page offset (remap_pfn_range on a CoW mapping). Linux: vma->vm_pgoff.</summary>
    public void SetPgOffForDriver(ulong pgoff) => PgOff = pgoff;

    public ulong Length => End - Start;

    private ulong _pgoff;
    private VmFlags _flags;
    private MappedFile? _file;
    private VmOperations? _vmOps;

    /// <summary>A field maps shows changed: the address space's changed range covers this VMA (a VMA not yet
    /// linked has no address space and nothing to report). See <see cref="AddressSpace.TakeChangedRange"/>.</summary>
    private void Changed() => Mm?.NoteChanged(Start, End);

    public ulong Pages => (End - Start) >> PageConstants.PageShift;

    /// <summary>True for anonymous memory: no VM operations (a private /dev/zero mapping keeps its file and is
    /// still anonymous). Linux: vma_is_anonymous().</summary>
    public bool IsAnonymous => VmOps is null;

    /// <summary>Start including the stack guard gap below a grows-down VMA. Linux: vm_start_gap().</summary>
    internal ulong StartGap(ulong guardGap)
    {
        ulong start = Start;
        if ((Flags & VmFlags.GrowsDown) != 0)
        {
            start = start > guardGap ? start - guardGap : 0;
        }
        else if ((Flags & VmFlags.ShadowStack) != 0)
        {
            start = start > PageConstants.PageSize ? start - PageConstants.PageSize : 0;
        }

        return start;
    }

    // ---- intrusive tree and list links; owned by VmaTree ----
    // Declared last among the references: the runtime lays references out in declaration order, then the 64-bit
    // fields, so Left and Right end up beside Start and End and a step of a lookup touches one cache line.
    internal Vma? Parent;
    internal Vma? PrevVma;
    internal Vma? NextVma;
    internal Vma? Left;
    internal Vma? Right;
    internal int Height;

    /// <summary>Largest free gap [prev.End, Start) of any VMA in this subtree.</summary>
    internal ulong SubtreeMaxGap;

    /// <summary>The free gap just below this VMA: Start minus the previous VMA's End (or 0).</summary>
    internal ulong GapBefore;

    public override string ToString() => $"{Start:x}-{End:x} {Flags} pgoff={PgOff:x}";
}
