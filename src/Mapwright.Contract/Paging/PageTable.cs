namespace Mapwright.Paging;

/// <summary>What a present page-table entry maps.</summary>
public enum PteKind : byte
{
    /// <summary>The shared zero page, mapped read-only for a read fault on private anonymous memory.</summary>
    ZeroPage = 1,

    /// <summary>A private anonymous page (or a copy-on-write copy).</summary>
    AnonPage = 2,

    /// <summary>A page-cache page of the mapped file (shared, or private and not yet written), or a page a
    /// driver inserted.</summary>
    FilePage = 3,

    /// <summary>A guard-region marker (MADV_GUARD_INSTALL): any fault on it is SIGSEGV. Linux: PTE_MARKER_GUARD.</summary>
    Guard = 4,

    /// <summary>A page a driver mapped by page frame number (remap_pfn_range): readable and writable, but to
    /// memory management not a normal page (no Rss, not in smaps). Linux: a pte_special() entry,
    /// vm_normal_page() returning NULL.</summary>
    PfnPage = 5,
}

/// <summary>
/// Present page-table entries of one address space, by virtual page number. Sparse: an untouched mapping costs
/// nothing, a present entry 20 to 40 bytes. Entries that map a frame hold a reference and a map count on it.
/// Linux: the pgd..pte hierarchy of mm->pgd (mm/memory.c).
/// </summary>
public sealed class PageTable
{
    private readonly PageIndex _index = new();
    private readonly List<ulong> _scratch = [];

    internal PageTable(PhysicalMemory memory)
    {
        Memory = memory;
    }

    /// <summary>The frames the entries map. Immutable after construction.</summary>
    public PhysicalMemory Memory { get; }

    public int Count => _index.Count;

    /// <summary>Bytes the table itself holds (its index), for the memory-cost reports.</summary>
    public long IndexBytes => _index.Bytes;

    public bool TryGet(ulong vpn, out PteKind kind)
    {
        bool found = _index.TryGetValue(vpn, out uint raw);
        kind = new Pte(raw).Kind;
        return found;
    }

    public bool TryGetPte(ulong vpn, out Pte pte)
    {
        bool found = _index.TryGetValue(vpn, out uint raw);
        pte = new Pte(raw);
        return found;
    }

    /// <summary>Installs an entry, dropping the one it replaces. An entry of a data kind takes a reference and
    /// a map count on its frame. Linux: set_pte_at() after folio_add_*_rmap_pte().</summary>
    internal void Set(ulong vpn, Pte pte)
    {
        if (pte.HasFrame)
        {
            Memory.Map(pte.Frame);
        }

        CountPages(pte, 1);
        ref uint slot = ref _index.GetOrAdd(vpn, out bool existed);
        if (existed)
        {
            var old = new Pte(slot);
            slot = pte.Raw;
            CountPages(old, -1);
            if (old.Kind == PteKind.FilePage && old.Dirty)
            {
                // The entry's dirty bit is not lost with it.
                Memory.SetDirty(old.Frame, dirty: true);
            }

            if (old.HasFrame)
            {
                Memory.Unmap(old.Frame);
            }
        }
        else
        {
            slot = pte.Raw;
        }
    }

    /// <summary>Installs a guard marker. Linux: MADV_GUARD_INSTALL's PTE_MARKER_GUARD.</summary>
    internal void SetGuard(ulong vpn) => Set(vpn, new Pte(PteKind.Guard, 0, dirty: false));

    /// <summary>Sets or clears the dirty bit of a present entry. Linux: pte_mkdirty() / pte_mkclean().</summary>
    internal void SetDirty(ulong vpn, bool dirty)
    {
        ref uint slot = ref _index.GetOrAdd(vpn, out bool existed);
        Diagnostics.Bug.On(!existed, $"pte {vpn:x}: dirtying an absent entry");
        slot = new Pte(slot).WithDirty(dirty).Raw;
    }

    /// <summary>Sets or clears the accessed bit of a present entry. Linux: pte_mkyoung() / pte_mkold().</summary>
    internal void SetYoung(ulong vpn, bool young)
    {
        ref uint slot = ref _index.GetOrAdd(vpn, out bool existed);
        Diagnostics.Bug.On(!existed, $"pte {vpn:x}: aging an absent entry");
        slot = new Pte(slot).WithYoung(young).Raw;
    }

    /// <summary>Resident pages by kind, as the mm counters keep them. Linux: MM_ANONPAGES, MM_FILEPAGES,
    /// MM_SHMEMPAGES (get_mm_counter()).</summary>
    public long AnonPages { get; private set; }

    public long FilePages { get; private set; }

    public long ShmemPages { get; private set; }

    /// <summary>The most pages ever resident at once, as of the last time entries were zapped.
    /// Linux: mm->hiwater_rss (update_hiwater_rss()).</summary>
    public long HiwaterRss { get; private set; }

    private void CountPages(Pte pte, int delta)
    {
        if (pte.Kind == PteKind.AnonPage)
        {
            AnonPages += delta;
        }
        else if (pte.Kind == PteKind.FilePage)
        {
            if (pte.Shmem)
            {
                ShmemPages += delta;
            }
            else
            {
                FilePages += delta;
            }
        }
    }

    private void UpdateHiwaterRss() => HiwaterRss = Math.Max(HiwaterRss, AnonPages + FilePages + ShmemPages);

    /// <summary>Clears every entry in [firstVpn, endVpn). Linux: zap_page_range_single() with ZAP_FLAG_DROP_MARKER.</summary>
    /// <param name="recency">The VMA keeps access history (no MADV_SEQUENTIAL/MADV_RANDOM): a young file page
    /// is marked accessed as its entry goes. Linux: vma_has_recency().</param>
    internal void Clear(ulong firstVpn, ulong endVpn, bool recency = true) => ClearWhere(firstVpn, endVpn, keepGuards: false, onlyGuards: false, recency);

    /// <summary>Clears every entry in [firstVpn, endVpn) but guard markers, which survive zapping
    /// (MADV_DONTNEED, MADV_FREE). Linux: zap_pte_range() without ZAP_FLAG_DROP_MARKER.</summary>
    internal void ClearKeepingGuards(ulong firstVpn, ulong endVpn, bool recency = true) => ClearWhere(firstVpn, endVpn, keepGuards: true, onlyGuards: false, recency);

    /// <summary>Removes only the guard markers of [firstVpn, endVpn). Linux: MADV_GUARD_REMOVE.</summary>
    internal void RemoveGuards(ulong firstVpn, ulong endVpn) => ClearWhere(firstVpn, endVpn, keepGuards: false, onlyGuards: true, recency: true);

    /// <summary>Drops every entry. Linux: exit_mmap()'s unmap_vmas() and free_pgtables().</summary>
    internal void ClearAll() => ClearWhere(0, ulong.MaxValue, keepGuards: false, onlyGuards: false, recency: true);

    /// <summary>Appends the present entries in [firstVpn, endVpn), with their virtual page numbers, to
    /// <paramref name="entries"/>, in no particular order: a snapshot the caller may change the table under.</summary>
    internal void CollectPresent(ulong firstVpn, ulong endVpn, List<(ulong Vpn, Pte Pte)> entries)
    {
        List<ulong> keys = _scratch;
        keys.Clear();
        _index.CollectKeys(firstVpn, endVpn, keys);
        foreach (ulong vpn in keys)
        {
            _index.TryGetValue(vpn, out uint raw);
            entries.Add((vpn, new Pte(raw)));
        }

        keys.Clear();
    }

    private void ClearWhere(ulong firstVpn, ulong endVpn, bool keepGuards, bool onlyGuards, bool recency)
    {
        if (_index.Count == 0 || endVpn <= firstVpn)
        {
            return;
        }

        UpdateHiwaterRss();
        List<ulong> doomed = _scratch;
        doomed.Clear();
        _index.CollectKeys(firstVpn, endVpn, doomed);
        foreach (ulong v in doomed)
        {
            _index.TryGetValue(v, out uint raw);
            var pte = new Pte(raw);
            bool guard = pte.Kind == PteKind.Guard;
            if (onlyGuards ? !guard : keepGuards && guard)
            {
                continue;
            }

            _index.Remove(v, out _);
            CountPages(pte, -1);
            if (pte.Kind == PteKind.FilePage)
            {
                // A file page's entry hands its dirty and accessed bits to the page as it goes.
                // Linux: mm/memory.c zap_present_folio_ptes().
                if (pte.Dirty)
                {
                    Memory.SetDirty(pte.Frame, dirty: true);
                }

                if (pte.Young && recency)
                {
                    Memory.MarkAccessed(pte.Frame);
                }
            }

            if (pte.HasFrame)
            {
                Memory.Unmap(pte.Frame);
            }
        }

        doomed.Clear();
    }

    /// <summary>Moves the entries of [oldVpn, oldVpn + pages) to start at newVpn; references move with them.
    /// Linux: move_page_tables().</summary>
    internal void Move(ulong oldVpn, ulong newVpn, ulong pages)
    {
        if (_index.Count == 0 || pages == 0)
        {
            return;
        }

        List<ulong> keys = _scratch;
        keys.Clear();
        _index.CollectKeys(oldVpn, oldVpn + pages, keys);
        var moved = new (ulong Vpn, uint Raw)[keys.Count];
        for (int i = 0; i < keys.Count; i++)
        {
            _index.Remove(keys[i], out uint raw);
            moved[i] = (newVpn + (keys[i] - oldVpn), raw);
        }

        keys.Clear();
        foreach ((ulong vpn, uint raw) in moved)
        {
            ref uint slot = ref _index.GetOrAdd(vpn, out bool existed);
            Diagnostics.Bug.On(existed, $"pte {vpn:x}: moving onto a present entry");
            slot = raw;
        }
    }
}
