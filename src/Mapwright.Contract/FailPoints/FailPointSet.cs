namespace Mapwright.FailPoints;

/// <summary>
/// Named fault-injection points, armed per address space: point NAME fails on its Nth hit from the
/// moment it is armed (1 = the next one), once. Linux: lib/fault-inject.c, as used by failslab.
/// </summary>
public sealed class FailPointSet
{
    private readonly Dictionary<string, int> _armed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _hits = new(StringComparer.Ordinal);

    /// <summary>The names of the points the model consults.</summary>
    public static IReadOnlyList<string> KnownPoints { get; } =
        ["vma_alloc", "vma_prealloc", "merge_prealloc", "split_vma", "may_expand_vm", "vm_enough_memory", "remap_pfn_range"];

    public static bool IsKnown(string name)
    {
        foreach (string p in KnownPoints)
        {
            if (p == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Arms NAME to fail on its Nth hit from now.</summary>
    public void Arm(string name, int nth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nth, 1);
        _armed[name] = nth;
    }

    private readonly HashSet<string> _fired = new(StringComparer.Ordinal);

    /// <summary>True once NAME has made an operation fail.</summary>
    public bool Fired(string name) => _fired.Contains(name);

    /// <summary>How often each point was reached.</summary>
    public int Hits(string name) => _hits.TryGetValue(name, out int h) ? h : 0;

    /// <summary>Counts a hit of NAME; true if it must fail now.</summary>
    internal bool Hit(string name)
    {
        // One lookup for the count, none for the armed points while none is armed: every mapping passes here.
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_hits, name, out _)++;
        if (_armed.Count != 0 && _armed.TryGetValue(name, out int left))
        {
            if (left <= 1)
            {
                _armed.Remove(name);
                _fired.Add(name);
                return true;
            }

            _armed[name] = left - 1;
        }

        return false;
    }
}
