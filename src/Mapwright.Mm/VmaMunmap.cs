using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// The VMAs of a range being unmapped, and the counters they carry.
/// Linux: mm/vma.h struct vma_munmap_struct.
/// </summary>
internal sealed class VmaMunmap
{
    public readonly List<Vma> Vmas = [];
    public ulong Start;
    public ulong End;
    public ulong NrPages;
    public ulong LockedVm;
    public ulong NrAccounted;
    public ulong ExecVm;
    public ulong StackVm;
    public ulong DataVm;
    public Vma? Prev;
    public Vma? Next;

    public void Reset()
    {
        Vmas.Clear();
        Start = End = NrPages = LockedVm = NrAccounted = ExecVm = StackVm = DataVm = 0;
        Prev = Next = null;
    }
}
