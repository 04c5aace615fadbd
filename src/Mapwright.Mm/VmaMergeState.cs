using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// What a merge attempt ends in. Linux: mm/vma.h enum vma_merge_state.
/// </summary>
internal enum VmaMergeResult
{
    /// <summary>Not tried yet. Linux: VMA_MERGE_START.</summary>
    Start,

    /// <summary>No merge applies. Linux: VMA_MERGE_NOMERGE.</summary>
    NoMerge,

    /// <summary>The range was merged; the VMA returned covers it. Linux: VMA_MERGE_SUCCESS.</summary>
    Success,

    /// <summary>The merge failed for lack of memory. Linux: VMA_MERGE_ERROR_NOMEM.</summary>
    ErrorNoMem,
}

/// <summary>
/// One merge attempt: the range, its neighbours and the attributes it must share with them, filled by the caller,
/// and the outcome, filled by <see cref="VmaOps.MergeNewRange"/> or <see cref="VmaOps.MergeExistingRange"/>.
/// A value on the caller's stack: one per attempt, shared with no other operation.
/// Linux: mm/vma.h struct vma_merge_struct.
/// </summary>
internal struct VmaMergeState
{
    /// <summary>The address space. Linux: vmg->mm.</summary>
    public AddressSpace Mm;

    /// <summary>The VMA before the range, or null. Linux: vmg->prev.</summary>
    public Vma? Prev;

    /// <summary>The VMA whose range changes (null for a new range). Linux: vmg->middle.</summary>
    public Vma? Middle;

    /// <summary>The VMA after the range, or null. Linux: vmg->next.</summary>
    public Vma? Next;

    /// <summary>The range [Start, End) and its file offset in pages. Linux: vmg->start, vmg->end, vmg->pgoff.</summary>
    public ulong Start;

    public ulong End;

    public ulong PgOff;

    /// <summary>The flags the range will have. Linux: vmg->vm_flags.</summary>
    public VmFlags Flags;

    /// <summary>The file the range maps, or null. Linux: vmg->file.</summary>
    public MappedFile? File;

    /// <summary>The anon_vma the range carries, or null. Linux: vmg->anon_vma.</summary>
    public AnonVma? AnonVma;

    /// <summary>Only prev may be extended (brk). Linux: vmg->just_expand.</summary>
    public bool JustExpand;

    /// <summary>The VMA mremap is moving (copy_vma()), whose anon_vma the range carries. Linux: vmg->copied_from.</summary>
    public Vma? CopiedFrom;

    /// <summary>The outcome. Linux: vmg->state.</summary>
    public VmaMergeResult State;

    /// <summary>A new range [start, end) between <paramref name="prev"/> and <paramref name="next"/>.
    /// Linux: VMG_STATE().</summary>
    public static VmaMergeState ForNewRange(AddressSpace mm, Vma? prev, Vma? next, ulong start, ulong end, ulong pgoff,
        VmFlags flags, MappedFile? file, AnonVma? anon) => new()
        {
            Mm = mm,
            Prev = prev,
            Next = next,
            Start = start,
            End = end,
            PgOff = pgoff,
            Flags = flags,
            File = file,
            AnonVma = anon,
        };

    /// <summary>[start, end) of <paramref name="middle"/>, about to get <paramref name="flags"/>.
    /// Linux: VMG_VMA_STATE().</summary>
    public static VmaMergeState ForExistingRange(AddressSpace mm, Vma? prev, Vma middle, ulong start, ulong end,
        VmFlags flags) => new()
        {
            Mm = mm,
            Prev = prev,
            Middle = middle,
            Start = start,
            End = end,
            Flags = flags,
        };
}
