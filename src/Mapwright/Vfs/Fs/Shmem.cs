using Mapwright.Abi;
using Mapwright.Mm;

namespace Mapwright.Vfs.Fs;

/// <summary>tmpfs/shmem files and memfd_create. Linux: mm/shmem.c, mm/memfd.c.</summary>
public static class Shmem
{
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
    public static Errno MemfdCreate(string name, ulong flags, out MappedFile? file)
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

        Inode inode = Inode.NewShmem(0);
        inode.Seals = (flags & MfdAllowSealing) != 0 ? FileSeals.None : FileSeals.Seal;
        if ((flags & MfdNoexecSeal) != 0)
        {
            inode.Seals = (inode.Seals & ~FileSeals.Seal) | FileSeals.Exec;
        }

        file = new MappedFile(inode, "/memfd:" + name + " (deleted)", canRead: true, canWrite: true) { Fop = Fop };
        return Errno.None;
    }
}
