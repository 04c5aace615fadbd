using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>A driver's mutex (or reservation) whose holder is tracked, so that a run can report what was
/// never released. Linux: a struct mutex such as resctrl's rdtgroup_mutex.</summary>
public sealed class DeviceMutex
{
    public DeviceMutex(string name)
        : this(name, null)
    {
    }

    /// <summary>A mutex whose acquisitions <paramref name="lockDep"/> (the machine's order checker) sees, under
    /// <paramref name="lockClass"/> (the driver's class, shared by its mutexes on every machine, as Linux's
    /// mutex_init() site key is), or a class of its own named <paramref name="name"/>.</summary>
    public DeviceMutex(string name, Locking.LockDep? lockDep, Locking.LockClass? lockClass = null)
    {
        Name = name;
        _lockDep = lockDep;
        _class = lockClass ?? new Locking.LockClass(name);
    }

    private readonly Locking.LockDep? _lockDep;
    private readonly Locking.LockClass _class;

    public string Name { get; }

    public bool IsHeld { get; private set; }

    public int Acquisitions { get; private set; }

    public int Releases { get; private set; }

    /// <summary>Takes the mutex; EBUSY where a real driver would block forever (the model has one task).</summary>
    public Errno Lock()
    {
        if (IsHeld)
        {
            return Errno.EBUSY;
        }

        _lockDep?.Acquire(_class, this);
        IsHeld = true;
        Acquisitions++;
        return Errno.None;
    }

    public void Unlock()
    {
        Diagnostics.Bug.On(!IsHeld, $"mutex_unlock of {Name}, which is not held");
        _lockDep?.Release(_class, this);
        IsHeld = false;
        Releases++;
    }
}
