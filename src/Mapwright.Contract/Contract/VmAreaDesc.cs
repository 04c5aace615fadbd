
namespace Mapwright.Contract;

/// <summary>
/// What MmapPrepare sees and may change (docs/hook-lifecycle.md): the address space, the file being mapped,
/// Start and End are read-only; PgOff, VmFile, VmFlags and PageProt are pre-filled and may be changed;
/// VmOps, PrivateData and Context start empty and may only be written.
/// Linux: include/linux/mm_types.h struct vm_area_desc.
/// </summary>
public sealed class VmAreaDesc
{
    private VmOperations? _vmOps;
    private object? _privateData;
    private object? _context;

    internal VmAreaDesc(IMmView mm, MappedFile file, ulong start, ulong end, ulong pgoff, VmFlags flags)
    {
        Mm = mm;
        File = file;
        Start = start;
        End = end;
        PgOff = pgoff;
        VmFile = file;
        VmFlags = flags;
        PageProt = (ulong)(flags & VmFlags.AccessFlags);
    }

    /// <summary>Read-only.</summary>
    public IMmView Mm { get; }

    /// <summary>The file being mapped. Read-only.</summary>
    public MappedFile File { get; }

    /// <summary>Read-only.</summary>
    public ulong Start { get; }

    /// <summary>Read-only.</summary>
    public ulong End { get; }

    /// <summary>Read-write, pre-filled.</summary>
    public ulong PgOff { get; set; }

    /// <summary>The file the VMA will hold; a stacked file system may substitute another. Read-write.</summary>
    public MappedFile VmFile { get; set; }

    /// <summary>Read-write, pre-filled.</summary>
    public VmFlags VmFlags { get; set; }

    /// <summary>Read-write, pre-filled (the access bits of VmFlags).</summary>
    public ulong PageProt { get; set; }

    /// <summary>Write-only: applied to the VMA only when set.</summary>
    public VmOperations? VmOps
    {
        set
        {
            _vmOps = value;
            VmOpsSet = true;
        }
    }

    /// <summary>Write-only: applied to the VMA unconditionally.</summary>
    public object? PrivateData
    {
        set => _privateData = value;
    }

    /// <summary>Write-only: handed unchanged to MmapComplete or MmapAbort.</summary>
    public object? Context
    {
        set => _context = value;
    }

    /// <summary>The successor form: an action performed once the VMA is in place.</summary>
    public MmapAction Action { get; } = new();

    /// <summary>
    /// A descriptor of a live VMA for a stacked file system's lower file: what compat_vma_mmap_prepare() builds
    /// to call an mmap_prepare hook from a legacy mmap hook. Linux: mm/util.c compat_vma_mmap_prepare().
    /// </summary>
    public static VmAreaDesc FromVma(IVmArea vma, MappedFile lower)
    {
        ArgumentNullException.ThrowIfNull(vma);
        IMmView mm = vma.Mm ?? throw new ArgumentException("the VMA is in no address space", nameof(vma));
        return new VmAreaDesc(mm, lower, vma.Start, vma.End, vma.PgOff, vma.Flags);
    }

    /// <summary>Applies the fields the hook set to the live VMA and returns the context it left for
    /// mmap_complete. Linux: set_vma_from_desc().</summary>
    public object? ApplyTo(IVmArea vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        vma.SetPgOffForDriver(PgOff);
        vma.SetFileForDriver(VmFile);
        vma.SetFlagsForDriver(VmFlags);
        if (VmOpsSet)
        {
            vma.SetVmOpsForDriver(_vmOps);
        }

        vma.SetPrivateDataForDriver(_privateData);
        return _context;
    }

    internal bool VmOpsSet { get; private set; }

    internal VmOperations? GetVmOps() => _vmOps;

    internal object? GetPrivateData() => _privateData;

    internal object? GetContext() => _context;

    /// <summary>Records a PFN remap of [start, start + size) to be done once the VMA exists.
    /// Linux: mmap_action_remap().</summary>
    public void ActionRemap(ulong start, ulong startPfn, ulong size)
    {
        Diagnostics.Bug.On(start < Start || start + size > End, $"mmap_action_remap range {start:x}+{size:x} outside {Start:x}-{End:x}");
        Action.Type = MmapActionType.RemapPfn;
        Action.RemapStart = start;
        Action.RemapStartPfn = startPfn;
        Action.RemapSize = size;
    }

    /// <summary>As <see cref="ActionRemap"/> for I/O memory. Linux: mmap_action_ioremap().</summary>
    public void ActionIoRemap(ulong start, ulong startPfn, ulong size)
    {
        ActionRemap(start, startPfn, size);
        Action.Type = MmapActionType.IoRemapPfn;
    }
}
