using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Paging;
using Mapwright.Syscalls;
using Mapwright.Vfs;
using Mapwright.Vfs.Fs;
using Mapwright.Vfs.Fs.HostFs;

namespace Mapwright;

/// <summary>
/// One modelled machine, and the one place its parts are made and wired together: physical memory, the memory
/// manager with its address spaces, the shmem file system, the device registry with /dev/zero and /dev/null,
/// the host file system, and the processes. Every identity a machine hands out (inode numbers, device inode
/// numbers) is numbered by a part it owns, so two machines in one process are independent and give the same
/// results as one alone. Not thread-safe: drive one machine from one thread at a time.
/// Linux: the kernel's boot-time setup (mm_init(), vfs_caches_init(), chrdev_init()) as far as this model has it.
/// </summary>
public sealed class Machine
{
    private readonly List<MmSyscalls> _processes = [];

    /// <summary>A machine with physical memory of its own.</summary>
    public Machine()
        : this(new PhysicalMemory())
    {
    }

    /// <summary>A machine on <paramref name="memory"/>.</summary>
    public Machine(PhysicalMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        Memory = memory;
        Shmem = new Shmem();
        Mm = new MemoryManager(memory, Shmem, LockDep) { FileUnmapped = ReleaseIfUnused };
        Devices = new DeviceRegistry(LockDep);
        CharDevices = new CharDevices(Shmem);
        Devices.Register("/dev/zero", CharDevices.NewZeroInode());
        Devices.Register("/dev/null", CharDevices.NewNullInode());
        HostFiles = new HostFiles();
    }

    /// <summary>Immutable after construction.</summary>
    public PhysicalMemory Memory { get; }

    /// <summary>The lock-order checker of this machine's task: every mmap lock, VMA lock and device mutex of the
    /// machine reports to it (docs/locking.md). Immutable after construction. Linux: kernel/locking/lockdep.c.</summary>
    public Locking.LockDep LockDep { get; } = new();

    /// <summary>The address spaces and what they share. Immutable after construction.</summary>
    public MemoryManager Mm { get; }

    /// <summary>The shmem file system (memfd_create, shared anonymous memory). Immutable after construction.</summary>
    internal Shmem Shmem { get; }

    /// <summary>The device nodes: /dev/zero, /dev/null and the drivers registered. Immutable after construction.</summary>
    public DeviceRegistry Devices { get; }

    /// <summary>/dev/zero and /dev/null. Immutable after construction.</summary>
    internal CharDevices CharDevices { get; }

    /// <summary>Host files, opened read-only. Immutable after construction.</summary>
    internal HostFiles HostFiles { get; }

    /// <summary>The live processes, oldest first. Protected by: single-threaded use.</summary>
    public IReadOnlyList<MmSyscalls> Processes => _processes;

    /// <summary>A new, empty address space on this machine, for a process made with
    /// <see cref="NewProcess(AddressSpace)"/> or for the Mm layer on its own.</summary>
    public AddressSpace NewAddressSpace(MmConfig config) => new(config, Mm);

    /// <summary>A new process with an empty address space and no open files.</summary>
    public MmSyscalls NewProcess(MmConfig config) => NewProcess(NewAddressSpace(config));

    /// <summary>A new process around <paramref name="mm"/>, an address space of this machine.</summary>
    public MmSyscalls NewProcess(AddressSpace mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        if (mm.Manager != Mm)
        {
            throw new ArgumentException("the address space belongs to another machine", nameof(mm));
        }

        return new MmSyscalls(this, mm);
    }

    internal void Add(MmSyscalls process) => _processes.Add(process);

    internal void Remove(MmSyscalls process) => _processes.Remove(process);

    /// <summary>
    /// Frees an unlinked shmem object's pages (memfd, shared anonymous memory) once no descriptor and no
    /// mapping in the machine refers to it: Linux releases the file with its last reference (fput() →
    /// shmem_evict_inode() → shmem_truncate_range()). Other inodes keep their page cache.
    /// </summary>
    public void ReleaseIfUnused(Inode inode)
    {
        ArgumentNullException.ThrowIfNull(inode);
        if (!inode.IsShmem || inode.PageCache.Count == 0)
        {
            return;
        }

        foreach (AddressSpace mm in Mm.AddressSpaces)
        {
            if (MemoryOps.MapsInode(mm, inode))
            {
                return;
            }
        }

        foreach (MmSyscalls process in _processes)
        {
            if (process.Files.References(inode))
            {
                return;
            }
        }

        inode.PageCache.RemoveFrom(0);
    }
}
