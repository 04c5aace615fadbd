using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;
using Mapwright.Vfs;

namespace Mapwright.Drivers;

/// <summary>
/// The example drivers under /dev/mapwright/, one per driver pattern of docs/hook-lifecycle.md
/// (docs/devices.md describes each). One instance per machine, registered in its device registry: it owns the
/// device locks, so that a run can report leaks, and counts its fault handler's calls.
/// </summary>
public sealed class ExampleDevices
{
    /// <summary>Pages of the ring buffer and of the simulated physical region of mem.</summary>
    public const ulong RingPages = 16;

    public const ulong PhysPages = 16;

    private readonly DeviceRegistry _registry;

    /// <summary>Registers the example devices under /dev/mapwright/ in <paramref name="registry"/>.</summary>
    public ExampleDevices(DeviceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        PseudolockMutex = new DeviceMutex("/dev/mapwright/pseudolock mutex", registry.LockDep);
        FaultingVmOps = new()
        {
            Fault = FaultingFault,
            PageMkwrite = f => f.PgOff == 0 ? Errno.EPERM : Errno.None,
        };

        Add("ring", new FileOperations { Name = "/dev/mapwright/ring", MmapPrepare = RingPrepare, MmapComplete = RingComplete });
        Add("pseudolock", new FileOperations
        {
            Name = "/dev/mapwright/pseudolock",
            MmapPrepare = PseudolockPrepare,
            MmapComplete = PseudolockComplete,
            MmapAbort = (_, _, _) => PseudolockMutex.Unlock(),
        });
        Add("mem", new FileOperations { Name = "/dev/mapwright/mem", MmapPrepare = MemPrepare, MmapComplete = MemComplete });
        Add("mem-action", new FileOperations { Name = "/dev/mapwright/mem-action", MmapPrepare = MemActionPrepare });
        Add("legacy", new FileOperations { Name = "/dev/mapwright/legacy", Mmap = LegacyMmap });
        Add("faulting", new FileOperations { Name = "/dev/mapwright/faulting", MmapPrepare = FaultingPrepare });
        Inode lower = registry.NewDeviceInode(new FileOperations { Name = "/dev/mapwright/overlay-lower", MmapPrepare = RingPrepareAnyLength, MmapComplete = RingComplete });
        Add("overlay", new FileOperations
        {
            Name = "/dev/mapwright/overlay",
            Mmap = (file, vma) => CompatMmap.MmapPrepare(new MappedFile(lower, "/dev/mapwright/overlay-lower", canRead: true, canWrite: true), vma),
        });
        Add("bad-both", new FileOperations { Name = "/dev/mapwright/bad-both", Mmap = (_, _) => Errno.None, MmapPrepare = _ => Errno.None });
        Add("bad-neither", new FileOperations { Name = "/dev/mapwright/bad-neither" });
        Add("bad-complete-only", new FileOperations { Name = "/dev/mapwright/bad-complete-only", Mmap = (_, _) => Errno.None, MmapComplete = (_, _, _) => Errno.None });
        Add("bad-abort-only", new FileOperations { Name = "/dev/mapwright/bad-abort-only", MmapPrepare = _ => Errno.None, MmapAbort = (_, _, _) => { } });
        Add("complete-fails", new FileOperations { Name = "/dev/mapwright/complete-fails", MmapPrepare = _ => Errno.None, MmapComplete = (_, _, _) => Errno.EAGAIN });
        Add("unlocker", new FileOperations
        {
            Name = "/dev/mapwright/unlocker",
            MmapPrepare = _ => Errno.None,
            MmapComplete = (_, vma, _) =>
            {
                vma.Mm!.MmapLock.WriteUnlock();
                return Errno.None;
            },
        });
    }

    /// <summary>The pseudolock device's mutex: taken in prepare, released by complete or abort.</summary>
    public DeviceMutex PseudolockMutex { get; }

    /// <summary>The VM operations of the example devices' mappings (a device mapping is not anonymous).</summary>
    public static VmOperations DeviceVmOps { get; } = new();

    /// <summary>Locks and reservations still held: one line each for the leak report.</summary>
    public IEnumerable<string> Leaks()
    {
        if (PseudolockMutex.IsHeld)
        {
            yield return PseudolockMutex.Name + " still held";
        }
    }

    private void Add(string name, FileOperations fop) => _registry.Register("/dev/mapwright/" + name, fop);

    // ---- faulting: pages provided on demand by vm_ops->fault; page_mkwrite keeps page 0 read-only ----

    /// <summary>Pages the faulting device has; a fault past them is SIGBUS.</summary>
    public const ulong FaultingPages = 16;

    /// <summary>The faulting device's VM operations: a fault fills the page with its page number plus one (in
    /// every byte); page_mkwrite refuses writes to page 0.</summary>
    public VmOperations FaultingVmOps { get; }

    /// <summary>Calls of the faulting device's fault handler, all processes of the machine together.</summary>
    public int FaultingFaults { get; private set; }

    private Errno FaultingPrepare(VmAreaDesc desc)
    {
        desc.VmOps = FaultingVmOps;
        return Errno.None;
    }

    private Errno FaultingFault(VmFault fault)
    {
        FaultingFaults++;
        if (fault.PgOff >= FaultingPages)
        {
            return Errno.EFAULT;
        }

        if (!fault.PageCache.TryGet(fault.PgOff, out _))
        {
            int frame = fault.PageCache.GetOrAdd(fault.Memory, fault.PgOff);
            fault.Memory.Fill(frame, 0, (int)PageConstants.PageSize, (byte)(fault.PgOff + 1));
        }

        return Errno.None;
    }

    // ---- ring: a 16-page buffer, prepopulated by complete ----
    private static Errno RingPrepare(VmAreaDesc desc)
    {
        if (desc.End - desc.Start != RingPages << PageConstants.PageShift || desc.PgOff != 0)
        {
            return Errno.EINVAL;
        }

        return RingPrepareAnyLength(desc);
    }

    private static Errno RingPrepareAnyLength(VmAreaDesc desc)
    {
        desc.VmFlags |= VmFlags.DontExpand;
        desc.VmOps = DeviceVmOps;
        desc.Context = (desc.End - desc.Start) >> PageConstants.PageShift;
        return Errno.None;
    }

    private static Errno RingComplete(MappedFile file, IVmArea vma, object? context)
    {
        ulong pages = context is ulong n ? n : 0;
        Diagnostics.Bug.On(pages != vma.Pages, $"ring: context says {pages} pages, the VMA has {vma.Pages}");
        vma.Mm!.InsertPagesForDriver(vma, vma.Start, vma.End);
        return Errno.None;
    }

    // ---- pseudolock: prepare takes the device mutex and keeps it ----
    private Errno PseudolockPrepare(VmAreaDesc desc)
    {
        Errno err = PseudolockMutex.Lock();
        if (err != Errno.None)
        {
            return err;
        }

        desc.Context = PseudolockMutex;
        desc.VmOps = DeviceVmOps;
        return Errno.None;
    }

    private Errno PseudolockComplete(MappedFile file, IVmArea vma, object? context)
    {
        vma.Mm!.InsertPagesForDriver(vma, vma.Start, vma.End);
        PseudolockMutex.Unlock();
        return Errno.None;
    }

    // ---- mem: a PFN mapping of a small simulated physical region ----
    private static Errno MemCheck(VmAreaDesc desc)
    {
        ulong pages = (desc.End - desc.Start) >> PageConstants.PageShift;
        if (desc.PgOff >= PhysPages || pages > PhysPages - desc.PgOff)
        {
            return Errno.EINVAL;
        }

        // A private writable mapping of device memory would need copy-on-write of PFNs: refused.
        if ((desc.VmFlags & (VmFlags.Shared | VmFlags.MayWrite)) == VmFlags.MayWrite && (desc.VmFlags & VmFlags.Write) != 0)
        {
            return Errno.EPERM;
        }

        return Errno.None;
    }

    private static Errno MemPrepare(VmAreaDesc desc)
    {
        Errno err = MemCheck(desc);
        if (err != Errno.None)
        {
            return err;
        }

        // remap_pfn_range_prepare(): VM_REMAP_FLAGS.
        desc.VmFlags |= VmFlags.Io | VmFlags.PfnMap | VmFlags.DontExpand | VmFlags.DontDump;
        desc.VmOps = DeviceVmOps;
        desc.Context = desc.PgOff;
        return Errno.None;
    }

    private static Errno MemComplete(MappedFile file, IVmArea vma, object? context)
    {
        vma.Mm!.InsertPagesForDriver(vma, vma.Start, vma.End);
        return Errno.None;
    }

    private static Errno MemActionPrepare(VmAreaDesc desc)
    {
        Errno err = MemCheck(desc);
        if (err != Errno.None)
        {
            return err;
        }

        desc.ActionRemap(desc.Start, desc.PgOff, desc.End - desc.Start);
        desc.VmOps = DeviceVmOps;
        return Errno.None;
    }

    // ---- legacy: the old ->mmap hook ----
    private static Errno LegacyMmap(MappedFile file, IVmArea vma)
    {
        vma.SetFlagsForDriver(vma.Flags | VmFlags.DontExpand | VmFlags.DontDump);
        vma.SetVmOpsForDriver(DeviceVmOps);
        return Errno.None;
    }
}
