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

/// <summary>A page-table entry: what it maps and, for data pages, the bytes (shared with the page cache for
/// file pages). Linux: pte_t.</summary>
public readonly record struct Pte(PteKind Kind, byte[]? Data);

/// <summary>
/// Present page-table entries of one address space, by virtual page number. Sparse: an untouched
/// mapping costs nothing. Linux: the pgd..pte hierarchy of mm->pgd (mm/memory.c).
/// </summary>
public sealed class PageTable
{
    private readonly Dictionary<ulong, Pte> _ptes = [];

    public int Count => _ptes.Count;

    public bool TryGet(ulong vpn, out PteKind kind)
    {
        bool found = _ptes.TryGetValue(vpn, out Pte pte);
        kind = pte.Kind;
        return found;
    }

    public bool TryGetPte(ulong vpn, out Pte pte) => _ptes.TryGetValue(vpn, out pte);

    public void Set(ulong vpn, PteKind kind, byte[]? data = null) => _ptes[vpn] = new Pte(kind, data);

    /// <summary>Clears every entry in [firstVpn, endVpn). Linux: zap_page_range_single().</summary>
    public void Clear(ulong firstVpn, ulong endVpn) => ClearWhere(firstVpn, endVpn, keepGuards: false, onlyGuards: false);

    /// <summary>Clears every entry in [firstVpn, endVpn) but guard markers, which survive zapping
    /// (MADV_DONTNEED, MADV_FREE). Linux: zap_pte_range() without ZAP_FLAG_DROP_MARKER.</summary>
    public void ClearKeepingGuards(ulong firstVpn, ulong endVpn) => ClearWhere(firstVpn, endVpn, keepGuards: true, onlyGuards: false);

    /// <summary>Removes only the guard markers of [firstVpn, endVpn). Linux: MADV_GUARD_REMOVE.</summary>
    public void RemoveGuards(ulong firstVpn, ulong endVpn) => ClearWhere(firstVpn, endVpn, keepGuards: false, onlyGuards: true);

    private void ClearWhere(ulong firstVpn, ulong endVpn, bool keepGuards, bool onlyGuards)
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
                if (_ptes.TryGetValue(v, out Pte p) && Doomed(p.Kind))
                {
                    (doomed ??= []).Add(v);
                }
            }
        }
        else
        {
            foreach (var kv in _ptes)
            {
                if (kv.Key >= firstVpn && kv.Key < endVpn && Doomed(kv.Value.Kind))
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

        bool Doomed(PteKind k) => onlyGuards ? k == PteKind.Guard : !(keepGuards && k == PteKind.Guard);
    }

    /// <summary>Moves the entries of [oldVpn, oldVpn + pages) to start at newVpn. Linux: move_page_tables().</summary>
    public void Move(ulong oldVpn, ulong newVpn, ulong pages)
    {
        if (_ptes.Count == 0 || pages == 0)
        {
            return;
        }

        var moved = new List<KeyValuePair<ulong, Pte>>();
        if (pages <= (ulong)_ptes.Count)
        {
            for (ulong i = 0; i < pages; i++)
            {
                if (_ptes.Remove(oldVpn + i, out Pte p))
                {
                    moved.Add(new(newVpn + i, p));
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
