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
    private readonly List<Held> _held = [];

    public LockDep()
    {
        LockOrder.Seed(this);
    }

    /// <summary>For each class, the classes first acquired while it was held, with how the edge was first seen.</summary>
    private readonly Dictionary<LockClass, Dictionary<LockClass, string>> _after = [];

    /// <summary>Number of locks currently held by the machine's task. Protected by: single-threaded use.</summary>
    public int HeldCount => _held.Count;

    /// <summary>True if a lock of <paramref name="cls"/> is held.</summary>
    public bool IsHeld(LockClass cls)
    {
        foreach (Held h in _held)
        {
            if (ReferenceEquals(h.Class, cls))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The classes held now, outermost first (for messages and tests).</summary>
    public string HeldDescription()
    {
        if (_held.Count == 0)
        {
            return "(none)";
        }

        var names = new string[_held.Count];
        for (int i = 0; i < _held.Count; i++)
        {
            names[i] = _held[i].Class.Name;
        }

        return string.Join(" -> ", names);
    }

    /// <summary>Records the acquisition of <paramref name="instance"/> of <paramref name="cls"/>.
    /// <paramref name="nested"/> allows a second lock of a class already held (Linux: SINGLE_DEPTH_NESTING, as
    /// dup_mmap() takes the child's mmap lock under the parent's). Linux: lock_acquire().</summary>
    public void Acquire(LockClass cls, object instance, bool nested = false)
    {
        foreach (Held h in _held)
        {
            if (ReferenceEquals(h.Class, cls))
            {
                Bug.On(ReferenceEquals(h.Instance, instance), $"lockdep: recursive locking of {cls.Name}: the same lock is already held (held: {HeldDescription()})");
                Bug.On(!nested, $"lockdep: possible recursive locking: a second {cls.Name} taken while one is held, without a nesting annotation (held: {HeldDescription()})");
                continue;
            }

            AddEdge(h.Class, cls);
        }

        _held.Add(new Held(cls, instance));
    }

    /// <summary>Records the release of <paramref name="instance"/>; releasing a lock not held is a BUG.
    /// Linux: lock_release(), print_unlock_imbalance_bug().</summary>
    public void Release(LockClass cls, object instance)
    {
        for (int i = _held.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(_held[i].Instance, instance) && ReferenceEquals(_held[i].Class, cls))
            {
                _held.RemoveAt(i);
                return;
            }
        }

        Bug.Throw($"lockdep: bad unlock balance: releasing {cls.Name}, which is not held (held: {HeldDescription()})");
    }

    private void AddEdge(LockClass before, LockClass after)
    {
        if (_after.TryGetValue(before, out Dictionary<LockClass, string>? known) && known.ContainsKey(after))
        {
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
    }

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
