using Mapwright.Diagnostics;

namespace Mapwright.Locking;

/// <summary>
/// The model's lockdep: one per machine (the model runs one task per machine, so the locks held are the
/// machine's current task's). Every acquisition records the edges "each class held, then this class"; an
/// acquisition whose edge would close a cycle with the order already seen is a BUG naming both locks and the
/// order first seen, as is recursive locking of one class without a nesting annotation and releasing a lock
/// not held. See the lock order in <see cref="LockOrder"/> and docs/locking.md.
/// Not a process-wide static: two machines in one process (tests run in parallel) keep their own graphs.
/// Linux: kernel/locking/lockdep.c (check_prev_add(), check_noncircular(), print_circular_bug()).
/// </summary>
public sealed class LockDep
{
    /// <summary>The locks held, outermost first: the first <see cref="_heldCount"/> entries. An array, not a list:
    /// every syscall pushes and pops here, and a fault or a VMA lock too. Protected by: single-threaded use.</summary>
    private Held[] _held = new Held[8];

    private int _heldCount;

    /// <summary>A checker that checks when <see cref="Diagnostics.MmDebug.CheckLockOrder"/> is on as it is made,
    /// and otherwise records nothing (each call returns at once).</summary>
    public LockDep()
        : this(Diagnostics.MmDebug.CheckLockOrder)
    {
    }

    /// <summary>A checker that checks when <paramref name="enabled"/>, whatever the switch says.</summary>
    internal LockDep(bool enabled)
    {
        IsEnabled = enabled;
        LockOrder.Seed(this);
    }

    /// <summary>Whether this checker records and checks acquisitions (<see cref="Diagnostics.MmDebug.CheckLockOrder"/>
    /// when it was made). A disabled checker holds nothing and finds no inversion. Immutable after construction.</summary>
    public bool IsEnabled { get; }

    /// <summary>For each class, the classes first acquired while it was held, with how the edge was first seen.</summary>
    private readonly Dictionary<LockClass, Dictionary<LockClass, string>> _after = [];

    /// <summary>Number of locks currently held by the machine's task. Protected by: single-threaded use.</summary>
    public int HeldCount => _heldCount;

    /// <summary>True if a lock of <paramref name="cls"/> is held.</summary>
    public bool IsHeld(LockClass cls)
    {
        for (int i = 0; i < _heldCount; i++)
        {
            if (ReferenceEquals(_held[i].Class, cls))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The classes held now, outermost first (for messages and tests).</summary>
    public string HeldDescription()
    {
        if (_heldCount == 0)
        {
            return "(none)";
        }

        var names = new string[_heldCount];
        for (int i = 0; i < _heldCount; i++)
        {
            names[i] = _held[i].Class.Name;
        }

        return string.Join(" -> ", names);
    }

    /// <summary>Records the acquisition of <paramref name="instance"/> of <paramref name="cls"/>.
    /// <paramref name="nested"/> allows a second lock of a class already held (Linux: SINGLE_DEPTH_NESTING, as
    /// dup_mmap() takes the child's mmap lock under the parent's). Linux: lock_acquire().</summary>
    internal void Acquire(LockClass cls, object instance, bool nested = false)
    {
        if (!IsEnabled)
        {
            return;
        }

        CheckAcquire(cls, instance, nested);
        if (_heldCount == _held.Length)
        {
            Array.Resize(ref _held, _held.Length * 2);
        }

        _held[_heldCount++] = new Held(cls, instance);
    }

    /// <summary>Records an acquisition of <paramref name="instance"/> immediately followed by its release: the
    /// order is checked and learnt, nothing stays held. For a lock whose hold ends at another lock's release, as
    /// a VMA write lock ends with the mmap write lock. Linux: vma_start_write()'s
    /// <c>rwsem_acquire(&amp;vma->vmlock_dep_map, ...)</c> then <c>rwsem_release()</c>.</summary>
    internal void AcquireRelease(LockClass cls, object instance)
    {
        if (IsEnabled)
        {
            CheckAcquire(cls, instance, nested: false);
        }
    }

    private void CheckAcquire(LockClass cls, object instance, bool nested)
    {
        // Each lock held gives an edge "held, then this"; none for a syscall's first lock (the mmap lock).
        for (int i = 0; i < _heldCount; i++)
        {
            Held h = _held[i];
            if (ReferenceEquals(h.Class, cls))
            {
                Bug.On(ReferenceEquals(h.Instance, instance), $"lockdep: recursive locking of {cls.Name}: the same lock is already held (held: {HeldDescription()})");
                Bug.On(!nested, $"lockdep: possible recursive locking: a second {cls.Name} taken while one is held, without a nesting annotation (held: {HeldDescription()})");
                continue;
            }

            AddEdge(h.Class, cls);
        }
    }

    /// <summary>Records the release of <paramref name="instance"/>; releasing a lock not held is a BUG.
    /// Linux: lock_release(), print_unlock_imbalance_bug().</summary>
    internal void Release(LockClass cls, object instance)
    {
        if (!IsEnabled)
        {
            return;
        }

        for (int i = _heldCount - 1; i >= 0; i--)
        {
            if (ReferenceEquals(_held[i].Instance, instance) && ReferenceEquals(_held[i].Class, cls))
            {
                // Locks are mostly released innermost first: then nothing moves.
                if (i < _heldCount - 1)
                {
                    Array.Copy(_held, i + 1, _held, i, _heldCount - i - 1);
                }

                _held[--_heldCount] = default;
                return;
            }
        }

        Bug.Throw($"lockdep: bad unlock balance: releasing {cls.Name}, which is not held (held: {HeldDescription()})");
    }

    private void AddEdge(LockClass before, LockClass after)
    {
        // The edge seen last is the commonest next one (mmap_lock -> vma_lock for every VMA a call locks).
        if (ReferenceEquals(before, _lastBefore) && ReferenceEquals(after, _lastAfter))
        {
            return;
        }

        if (_after.TryGetValue(before, out Dictionary<LockClass, string>? known) && known.ContainsKey(after))
        {
            _lastBefore = before;
            _lastAfter = after;
            return;
        }

        // The new edge before -> after closes a cycle if after already reaches before.
        List<LockClass>? path = FindPath(after, before);
        if (path is not null)
        {
            string seen = _after[path[0]][path[1]];
            Bug.Throw($"lockdep: possible circular locking dependency: acquiring {after.Name} while holding {before.Name}, "
                + $"but the order {string.Join(" -> ", path.ConvertAll(c => c.Name))} was seen first ({seen}) (held: {HeldDescription()})");
        }

        if (known is null)
        {
            known = [];
            _after[before] = known;
        }

        known[after] = $"{after.Name} taken while holding {before.Name}, with {HeldDescription()} held";
        _lastBefore = before;
        _lastAfter = after;
    }

    /// <summary>The last edge found recorded (a cache of <see cref="_after"/>; edges are never removed).</summary>
    private LockClass? _lastBefore;

    private LockClass? _lastAfter;

    /// <summary>A path of recorded edges from <paramref name="from"/> to <paramref name="to"/>, or null.</summary>
    private List<LockClass>? FindPath(LockClass from, LockClass to)
    {
        var visited = new HashSet<LockClass>();
        var path = new List<LockClass> { from };
        return Search(from) ? path : null;

        bool Search(LockClass node)
        {
            if (ReferenceEquals(node, to))
            {
                return true;
            }

            if (!visited.Add(node) || !_after.TryGetValue(node, out Dictionary<LockClass, string>? next))
            {
                return false;
            }

            foreach (LockClass n in next.Keys)
            {
                path.Add(n);
                if (Search(n))
                {
                    return true;
                }

                path.RemoveAt(path.Count - 1);
            }

            return false;
        }
    }

    private readonly record struct Held(LockClass Class, object Instance);
}
