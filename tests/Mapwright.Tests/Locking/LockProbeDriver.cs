using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Vfs;

namespace Mapwright.Tests.Locking;

/// <summary>
/// A test driver whose every hook records the locks it runs under: the mode of the mmap lock of the address
/// space the hook acts on (none, read, write) and the state of the VMA lock of the VMA it is given (none,
/// read, write). Lines read <c>HOOK mmap=MODE vma=MODE</c>; the fork open hook adds the parent's mmap lock and
/// parent VMA's lock (<c>parent=MODE parent-vma=MODE</c>).
/// </summary>
internal sealed class LockProbeDriver
{
    private static ulong s_nextIno = 9000;

    public LockProbeDriver(bool mapPages = false, Errno prepareResult = Errno.None)
    {
        VmOps = new VmOperations
        {
            Open = v => Record("open", v),
            Close = v => Record("close", v),
            MaySplit = addr =>
            {
                Record("may_split", Process!.Mm.FindVma(addr));
                return Errno.None;
            },
            Mremap = v =>
            {
                Record("mremap", v);
                return Errno.None;
            },
            Fault = f =>
            {
                Record("fault", f.Vma);
                return Errno.None;
            },
            PageMkwrite = f =>
            {
                Record("page_mkwrite", f.Vma);
                return Errno.None;
            },
            MapPages = mapPages,
        };
        Legacy = new FileOperations
        {
            Name = "/dev/lockprobe-legacy",
            Mmap = (_, vma) =>
            {
                Record("mmap", vma);
                vma.SetVmOpsForDriver(VmOps);
                return Errno.None;
            },
        };
        Prepared = new FileOperations
        {
            Name = "/dev/lockprobe",
            MmapPrepare = desc =>
            {
                Record("mmap_prepare", desc.Mm, null);
                desc.VmOps = VmOps;
                return prepareResult;
            },
            MmapComplete = (_, vma, _) =>
            {
                Record("mmap_complete", vma);
                return Errno.None;
            },
            MmapAbort = (_, _, _) => Record("mmap_abort", Process!.Mm, null),
        };
    }

    public VmOperations VmOps { get; }

    public FileOperations Legacy { get; }

    public FileOperations Prepared { get; }

    /// <summary>The process whose address space hooks without a VMA of their own (prepare, abort, may_split)
    /// look at.</summary>
    public MmSyscalls? Process { get; set; }

    /// <summary>The parent of a fork, whose locks the open hook of a child's VMA also records.</summary>
    public MmSyscalls? ForkParent { get; set; }

    public List<string> Log { get; } = [];

    /// <summary>Opens a file with <paramref name="fop"/> in <paramref name="sys"/>; returns its descriptor.</summary>
    public static ulong Open(MmSyscalls sys, FileOperations fop)
    {
        var inode = new Inode(0, 77, s_nextIno++) { IsDevice = true, Fop = fop };
        return (ulong)sys.Files.Install(new MappedFile(inode, fop.Name, canRead: true, canWrite: true));
    }

    /// <summary>The lines recorded for <paramref name="hook"/>, in order.</summary>
    public List<string> Of(string hook) => Log.FindAll(l => l.StartsWith(hook + " ", StringComparison.Ordinal));

    public void Clear() => Log.Clear();

    private void Record(string hook, IVmArea? vma) => Record(hook, vma?.Mm ?? Process!.Mm, vma);

    private void Record(string hook, IMmView mm, IVmArea? vma)
    {
        string line = $"{hook} mmap={Mode(mm)} vma={VmaMode(vma)}";
        if (ForkParent is { } parent && !ReferenceEquals(mm, parent.Mm))
        {
            line += $" parent={Mode(parent.Mm)} parent-vma={VmaMode(vma is null ? null : parent.Mm.FindVma(vma.Start))}";
        }

        Log.Add(line);
    }

    private static string Mode(IMmView mm) =>
        mm.MmapLock.IsWriteLocked ? "write" : mm.MmapLock.IsReadLocked ? "read" : "none";

    private static string VmaMode(IVmArea? vma) =>
        vma is null ? "none" : vma.IsWriteLocked ? "write" : vma.IsReadLocked ? "read" : "none";
}
