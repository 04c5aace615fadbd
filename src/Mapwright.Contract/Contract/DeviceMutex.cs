using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>A driver's mutex (or reservation) whose holder is tracked, so that a run can report what was
/// never released. Linux: a struct mutex such as resctrl's rdtgroup_mutex.</summary>
public sealed class DeviceMutex
{
    public DeviceMutex(string name)
    {
        Name = name;
    }

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

        IsHeld = true;
        Acquisitions++;
        return Errno.None;
    }

    public void Unlock()
    {
        Diagnostics.Bug.On(!IsHeld, $"mutex_unlock of {Name}, which is not held");
        IsHeld = false;
        Releases++;
    }
}
