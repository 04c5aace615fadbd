using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Vfs.Fs;

/// <summary>
/// The shmem file system of one machine: tmpfs/shmem files, memfd_create, and the files behind shared
/// anonymous mappings. It numbers its inodes, so two machines in one process number theirs independently.
/// Linux: mm/shmem.c, mm/memfd.c (the internal shm mount).
/// </summary>
internal sealed class Shmem : IShmemFiles
{
    /// <summary>The last inode number given. Protected by: single-threaded use of the machine.</summary>
    private ulong _lastIno = 1;

    /// <summary>A new unlinked shmem inode (device 00:01 on the host's internal shm mount).
    /// Linux: mm/shmem.c shmem_kernel_file_setup().</summary>
    public Inode NewInode(ulong size) => new(0, 1, ++_lastIno) { IsShmem = true, Size = size };

    /// <inheritdoc/>
    VmOperations IShmemFiles.AnonVmOps => VmOps;

    /// <inheritdoc/>
    public MappedFile ZeroSetup(ulong size) =>
        new(NewInode(size), "/dev/zero (deleted)", canRead: true, canWrite: true) { Fop = Fop };

    /// <summary>shmem_vm_ops: shared file memory (a close hook would block merges; shmem has none).</summary>
    public static VmOperations VmOps { get; } = new() { Name = null, MapPages = true };

    /// <summary>Linux: mm/shmem.c shmem_mmap_prepare() with memfd_check_seals_mmap().</summary>
    public static FileOperations Fop { get; } = new()
    {
        Name = "shmem",
        MmapPrepare = desc =>
        {
            FileSeals seals = desc.File.Inode.Seals;
            if ((seals & (FileSeals.Write | FileSeals.FutureWrite)) != 0 && (desc.VmFlags & VmFlags.Shared) != 0)
            {
                if ((desc.VmFlags & VmFlags.Write) != 0)
                {
                    return Errno.EPERM;
                }

                desc.VmFlags &= ~VmFlags.MayWrite;
            }

            desc.VmOps = VmOps;
            return Errno.None;
        },
    };

    private const ulong MfdCloexec = 1, MfdAllowSealing = 2, MfdHugetlb = 4, MfdNoexecSeal = 8, MfdExec = 0x10;

    /// <summary>memfd_create(name, flags): a new unlinked shmem file "/memfd:NAME (deleted)", size 0.
    /// Linux: mm/memfd.c memfd_create syscall.</summary>
    public Errno MemfdCreate(string name, ulong flags, out MappedFile? file)
    {
        file = null;
        if ((flags & ~(MfdCloexec | MfdAllowSealing | MfdHugetlb | MfdNoexecSeal | MfdExec | (0x3fUL << 26))) != 0
            || ((flags & MfdHugetlb) == 0 && (flags >> 26) != 0) || ((flags & MfdExec) != 0 && (flags & MfdNoexecSeal) != 0))
        {
            return Errno.EINVAL;
        }

        if (System.Text.Encoding.UTF8.GetByteCount(name) > 249)
        {
            return Errno.EINVAL;
        }

        if ((flags & MfdHugetlb) != 0)
        {
            // No huge-page pool in the model (vm.nr_hugepages is 0): hugetlbfs files cannot be created.
            return Errno.ENOMEM;
        }

        Inode inode = NewInode(0);
        inode.Seals = (flags & MfdAllowSealing) != 0 ? FileSeals.None : FileSeals.Seal;
        if ((flags & MfdNoexecSeal) != 0)
        {
            inode.Seals = (inode.Seals & ~FileSeals.Seal) | FileSeals.Exec;
        }

        file = new MappedFile(inode, "/memfd:" + name + " (deleted)", canRead: true, canWrite: true) { Fop = Fop };
        return Errno.None;
    }
}
