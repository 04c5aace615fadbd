using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mapwright.Paging;

/// <summary>
/// A map from page number to a 32-bit entry: open addressing with linear probing in one array of 12-byte slots
/// (no references, so the garbage collector never scans it), at most 80% full, deletion by backward shift.
/// A page costs 15 to 30 bytes here. The page tables (by virtual page) and page caches (by file page) use it.
/// Linux plays this part with the radix page-table levels and the page cache's xarray.
/// </summary>
internal sealed class PageIndex
{
    private const int MinCapacity = 16;

    private Slot[] _slots = [];
    private int _shift = 61;
    private int _count;
    private int _growAt;

    public int Count => _count;

    /// <summary>Bytes held by the slot array.</summary>
    public long Bytes => (long)_slots.Length * Unsafe.SizeOf<Slot>();

    public bool TryGetValue(ulong key, out uint value)
    {
        if (_count != 0)
        {
            int i = Probe(key + 1, out bool found);
            if (found)
            {
                value = _slots[i].Value;
                return true;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>The entry of <paramref name="key"/>, added as 0 if absent.</summary>
    public ref uint GetOrAdd(ulong key, out bool existed)
    {
        if (_count >= _growAt)
        {
            Grow();
        }

        ulong stored = key + 1;
        int i = Probe(stored, out existed);
        if (!existed)
        {
            _slots[i].Key = stored;
            _slots[i].Value = 0;
            _count++;
        }

        return ref _slots[i].Value;
    }

    public bool Remove(ulong key, out uint value)
    {
        value = 0;
        if (_count == 0)
        {
            return false;
        }

        int i = Probe(key + 1, out bool found);
        if (!found)
        {
            return false;
        }

        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        value = slots[i].Value;
        // Backward-shift deletion: pull later members of the probe run into the hole.
        int hole = i;
        for (int j = (i + 1) & mask; slots[j].Key != 0; j = (j + 1) & mask)
        {
            int home = Home(slots[j].Key);
            // Move j into the hole unless its home lies cyclically in (hole, j].
            bool homeBetween = hole <= j ? home > hole && home <= j : home > hole || home <= j;
            if (!homeBetween)
            {
                slots[hole] = slots[j];
                hole = j;
            }
        }

        slots[hole] = default;
        _count--;
        return true;
    }

    /// <summary>Appends the keys in [<paramref name="first"/>, <paramref name="end"/>) to <paramref name="keys"/>,
    /// probing each key of the range or scanning the table, whichever is shorter. Order is unspecified.</summary>
    public void CollectKeys(ulong first, ulong end, List<ulong> keys)
    {
        if (_count == 0 || end <= first)
        {
            return;
        }

        if (end - first <= (ulong)_slots.Length)
        {
            for (ulong k = first; k < end; k++)
            {
                if (TryGetValue(k, out _))
                {
                    keys.Add(k);
                }
            }

            return;
        }

        foreach (Slot s in _slots)
        {
            if (s.Key != 0 && s.Key - 1 >= first && s.Key - 1 < end)
            {
                keys.Add(s.Key - 1);
            }
        }
    }

    public void Clear()
    {
        _slots = [];
        _shift = 61;
        _count = 0;
        _growAt = 0;
    }

    /// <summary>The slot holding <paramref name="stored"/>, or the empty slot that ends its probe run (the table
    /// is never full).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Probe(ulong stored, out bool found)
    {
        Slot[] slots = _slots;
        int mask = slots.Length - 1;
        for (int i = Home(stored); ; i = (i + 1) & mask)
        {
            ulong k = slots[i].Key;
            if (k == stored || k == 0)
            {
                found = k == stored;
                return i;
            }
        }
    }

    /// <summary>Eight consecutive pages hash to eight consecutive slots (one group, hashed as a whole), so a
    /// sequential walk over a mapping stays within a few cache lines, as a page table's entries do.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(ulong stored) => (int)(((stored >> 3) * 0x9E3779B97F4A7C15UL) >> (_shift + 3)) << 3 | (int)(stored & 7);

    private void Grow()
    {
        Slot[] old = _slots;
        int capacity = old.Length == 0 ? MinCapacity : old.Length * 2;
        _slots = new Slot[capacity];
        _shift = 64 - System.Numerics.BitOperations.Log2((uint)capacity);
        _growAt = capacity / 5 * 4;
        int mask = capacity - 1;
        foreach (Slot s in old)
        {
            if (s.Key != 0)
            {
                int i = Home(s.Key);
                while (_slots[i].Key != 0)
                {
                    i = (i + 1) & mask;
                }

                _slots[i] = s;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    private struct Slot
    {
        public ulong Key;
        public uint Value;
    }
}
