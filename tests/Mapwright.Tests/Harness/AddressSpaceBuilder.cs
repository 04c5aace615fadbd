using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Vfs;

namespace Mapwright.Tests.Harness;

/// <summary>
/// Makes an address space and links VMAs into it directly, bypassing the syscall path, so that a test can set
/// up neighbours with chosen flags, pgoffs, anon_vmas and vm_ops (which no merge would otherwise allow).
/// Linux: tools/testing/vma alloc_and_link_vma().
/// </summary>
internal sealed class AddressSpaceBuilder
{
    /// <summary>The harness's default flags: VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE.
    /// Linux: tools/testing/vma vm_flags in every test.</summary>
    public const VmFlags DefaultFlags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite;

    public AddressSpaceBuilder(MmConfig? config = null)
        : this(new Machine(), config)
    {
    }

    public AddressSpaceBuilder(Machine machine, MmConfig? config = null)
    {
        Machine = machine;
        Mm = machine.NewAddressSpace(config ?? new MmConfig());
    }

    /// <summary>The machine the address space is on.</summary>
    public Machine Machine { get; }

    public AddressSpace Mm { get; }

    /// <summary>Inserts [start, end) with the given attributes and accounts it like a new mapping.</summary>
    public Vma AllocAndLink(ulong start, ulong end, ulong pgoff, VmFlags flags = DefaultFlags, AnonVma? anon = null,
        VmOperations? ops = null, MappedFile? file = null)
    {
        Vma vma = Mm.InstallInitialVma(start, end, flags, pgoff, file, ops, faulted: false);
        vma.AnonVma = anon;
        return vma;
    }

    /// <summary>
    /// Runs the new-range merge and, when it merges, accounts the new pages as mmap_region would; when it does not
    /// merge and <paramref name="linkIfUnmerged"/> is set, links a fresh VMA instead.
    /// Linux: tools/testing/vma try_merge_new_vma().
    /// </summary>
    public Vma? MergeNew(ulong start, ulong end, ulong pgoff, out bool merged, VmFlags flags = DefaultFlags,
        AnonVma? anon = null, bool linkIfUnmerged = true)
    {
        Vma? prev = Mm.Tree.FindPrev(start);
        Vma? next = prev is null ? Mm.Tree.First : prev.NextVma;
        var vmg = VmaMergeState.ForNewRange(Mm, prev, next, start, end, pgoff, flags, null, anon);
        Vma? vma = VmaOps.MergeNewRange(ref vmg);
        merged = vma is not null;
        if (vmg.State == VmaMergeResult.ErrorNoMem)
        {
            throw new InvalidOperationException("merge reported ENOMEM without a fail point");
        }

        if (vma is not null)
        {
            Mm.StatAccount(flags, (long)((end - start) >> PageConstants.PageShift));
            return vma;
        }

        return linkIfUnmerged ? AllocAndLink(start, end, pgoff, flags, anon) : null;
    }

    /// <summary>
    /// vma_modify_flags(): merges or splits [start, end) of <paramref name="vma"/>, then sets the flags on the
    /// result and moves the pages between the accounting classes as the callers (mprotect_fixup) do.
    /// </summary>
    public Errno ModifyFlags(Vma vma, ulong start, ulong end, VmFlags newFlags, out Vma result)
    {
        Vma? prev = start > vma.Start ? vma : vma.PrevVma;
        VmFlags oldFlags = vma.Flags;
        Errno err = VmaOps.ModifyFlags(Mm, prev, vma, start, end, newFlags, out result);
        if (err != Errno.None)
        {
            return err;
        }

        long pages = (long)((end - start) >> PageConstants.PageShift);
        result.Flags = newFlags;
        Mm.StatAccount(oldFlags, -pages);
        Mm.StatAccount(newFlags, pages);
        return Errno.None;
    }
}
