namespace Mapwright.Paging;

/// <summary>What a present page-table entry maps.</summary>
public enum PteKind : byte
{
    /// <summary>The shared zero page, mapped read-only for a read fault on private anonymous memory.</summary>
    ZeroPage = 1,

    /// <summary>A private anonymous page (or a copy-on-write copy).</summary>
    AnonPage = 2,

    /// <summary>A page-cache page of the mapped file (shared, or private and not yet written).</summary>
    FilePage = 3,

    /// <summary>A guard-region marker (MADV_GUARD_INSTALL): any fault on it is SIGSEGV. Linux: PTE_MARKER_GUARD.</summary>
    Guard = 4,
}

/// <summary>
/// Present page-table entries of one address space, by virtual page number. Sparse: an untouched
/// mapping costs nothing. Linux: the pgd..pte hierarchy of mm->pgd (mm/memory.c).
/// </summary>
public sealed class PageTable
{
    private readonly Dictionary<ulong, PteKind> _ptes = [];

    public int Count => _ptes.Count;

    public bool TryGet(ulong vpn, out PteKind kind) => _ptes.TryGetValue(vpn, out kind);

    public void Set(ulong vpn, PteKind kind) => _ptes[vpn] = kind;

    /// <summary>Clears every entry in [firstVpn, endVpn). Linux: zap_page_range_single().</summary>
    public void Clear(ulong firstVpn, ulong endVpn)
    {
        if (_ptes.Count == 0 || endVpn <= firstVpn)
        {
            return;
        }

        if (endVpn - firstVpn <= (ulong)_ptes.Count)
        {
            for (ulong v = firstVpn; v < endVpn; v++)
            {
                _ptes.Remove(v);
            }

            return;
        }

        List<ulong>? doomed = null;
        foreach (ulong v in _ptes.Keys)
        {
            if (v >= firstVpn && v < endVpn)
            {
                (doomed ??= []).Add(v);
            }
        }

        if (doomed is not null)
        {
            foreach (ulong v in doomed)
            {
                _ptes.Remove(v);
            }
        }
    }

    /// <summary>Clears every entry in [firstVpn, endVpn) but guard markers, which survive zapping
    /// (MADV_DONTNEED, MADV_FREE). Linux: zap_pte_range() without ZAP_FLAG_DROP_MARKER.</summary>
    public void ClearKeepingGuards(ulong firstVpn, ulong endVpn)
    {
        if (_ptes.Count == 0 || endVpn <= firstVpn)
        {
            return;
        }

        List<ulong>? doomed = null;
        if (endVpn - firstVpn <= (ulong)_ptes.Count)
        {
            for (ulong v = firstVpn; v < endVpn; v++)
            {
                if (_ptes.TryGetValue(v, out PteKind k) && k != PteKind.Guard)
                {
                    (doomed ??= []).Add(v);
                }
            }
        }
        else
        {
            foreach (var kv in _ptes)
            {
                if (kv.Key >= firstVpn && kv.Key < endVpn && kv.Value != PteKind.Guard)
                {
                    (doomed ??= []).Add(kv.Key);
                }
            }
        }

        if (doomed is not null)
        {
            foreach (ulong v in doomed)
            {
                _ptes.Remove(v);
            }
        }
    }

    /// <summary>Removes only the guard markers of [firstVpn, endVpn). Linux: MADV_GUARD_REMOVE.</summary>
    public void RemoveGuards(ulong firstVpn, ulong endVpn)
    {
        if (_ptes.Count == 0 || endVpn <= firstVpn)
        {
            return;
        }

        List<ulong>? doomed = null;
        foreach (var kv in _ptes)
        {
            if (kv.Key >= firstVpn && kv.Key < endVpn && kv.Value == PteKind.Guard)
            {
                (doomed ??= []).Add(kv.Key);
            }
        }

        if (doomed is not null)
        {
            foreach (ulong v in doomed)
            {
                _ptes.Remove(v);
            }
        }
    }

    /// <summary>Moves the entries of [oldVpn, oldVpn + pages) to start at newVpn. Linux: move_page_tables().</summary>
    public void Move(ulong oldVpn, ulong newVpn, ulong pages)
    {
        if (_ptes.Count == 0 || pages == 0)
        {
            return;
        }

        var moved = new List<KeyValuePair<ulong, PteKind>>();
        if (pages <= (ulong)_ptes.Count)
        {
            for (ulong i = 0; i < pages; i++)
            {
                if (_ptes.Remove(oldVpn + i, out PteKind k))
                {
                    moved.Add(new(newVpn + i, k));
                }
            }
        }
        else
        {
            foreach (var kv in _ptes)
            {
                if (kv.Key >= oldVpn && kv.Key - oldVpn < pages)
                {
                    moved.Add(new(newVpn + (kv.Key - oldVpn), kv.Value));
                }
            }

            foreach (var kv in moved)
            {
                _ptes.Remove(oldVpn + (kv.Key - newVpn));
            }
        }

        foreach (var kv in moved)
        {
            _ptes[kv.Key] = kv.Value;
        }
    }
}
