using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Drivers;

/// <summary>
/// The compat path for a stacked file system (hook rule 9): its legacy mmap hook maps a lower file whose
/// driver has only mmap_prepare. Linux: mm/util.c compat_vma_mmap_prepare() (and the 2025 series' completion
/// step).
/// </summary>
public static class CompatMmap
{
    /// <summary>
    /// Builds a VmAreaDesc from the live VMA, calls the lower file's MmapPrepare, applies the fields it set to
    /// the VMA, then calls its MmapComplete at once.
    /// </summary>
    public static Errno MmapPrepare(MappedFile lower, IVmArea vma)
    {
        ArgumentNullException.ThrowIfNull(lower);
        ArgumentNullException.ThrowIfNull(vma);
        IMmView mm = vma.Mm ?? throw new ArgumentException("the VMA is in no address space", nameof(vma));
        FileOperations fop = lower.Operations!;
        VmAreaDesc desc = VmAreaDesc.FromVma(vma, lower);
        Errno err = fop.MmapPrepare!(desc);
        mm.TraceHook("mmap_prepare", lower, vma, err, withVma: false);
        if (err != Errno.None)
        {
            return err;
        }

        object? context = desc.ApplyTo(vma);
        if (fop.MmapComplete is { } complete)
        {
            err = complete(lower, vma, context);
            mm.TraceHook("mmap_complete", lower, vma, err, withVma: true);
        }

        return err;
    }
}
