namespace Mapwright.FailPoints;

/// <summary>
/// Named fault-injection points, armed per address space: point NAME fails on its Nth hit from the
/// moment it is armed (1 = the next one), once. Linux: lib/fault-inject.c, as used by failslab.
/// </summary>
public sealed class FailPointSet
{
    private readonly Dictionary<string, int> _armed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _hits = new(StringComparer.Ordinal);

    /// <summary>Hits of each of <see cref="s_known"/>, by index: every mapping passes a point, so a hit is an array
    /// increment, not a hashed lookup.</summary>
    private readonly int[] _knownHits = new int[s_known.Length];

    private static readonly string[] s_known =
        ["vma_alloc", "vma_prealloc", "merge_prealloc", "split_vma", "may_expand_vm", "vm_enough_memory", "remap_pfn_range"];

    /// <summary>The names of the points the model consults.</summary>
    public static IReadOnlyList<string> KnownPoints { get; } = Array.AsReadOnly(s_known);

    public static bool IsKnown(string name) => KnownIndex(name) >= 0;

    /// <summary>The index of NAME in <see cref="s_known"/>, or -1. The model passes the same literals, so the
    /// reference comparison answers first.</summary>
    private static int KnownIndex(string name)
    {
        for (int i = 0; i < s_known.Length; i++)
        {
            if (ReferenceEquals(s_known[i], name))
            {
                return i;
            }
        }

        return Array.IndexOf(s_known, name);
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
    public int Hits(string name) => KnownIndex(name) is int i and >= 0 ? _knownHits[i] : _hits.TryGetValue(name, out int h) ? h : 0;

    /// <summary>Counts a hit of NAME; true if it must fail now.</summary>
    internal bool Hit(string name)
    {
        // No hashed lookup while none is armed: every mapping passes here.
        if (KnownIndex(name) is int i and >= 0)
        {
            _knownHits[i]++;
        }
        else
        {
            System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_hits, name, out _)++;
        }

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
