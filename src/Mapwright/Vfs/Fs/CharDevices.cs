using Mapwright.Abi;
using Mapwright.Mm;

namespace Mapwright.Vfs.Fs;

/// <summary>/dev/zero and /dev/null. Linux: drivers/char/mem.c.</summary>
public static class CharDevices
{
    /// <summary>/dev/zero: a shared mapping becomes shmem-backed ("/dev/zero (deleted)"), a private one
    /// anonymous memory that still holds the /dev/zero file. Linux: mmap_zero() → shmem_zero_setup() /
    /// vma_set_anonymous().</summary>
    public static FileOperations ZeroFop { get; } = new()
    {
        Name = "/dev/zero",
        Mmap = (file, vma) =>
        {
            if ((vma.Flags & VmFlags.Shared) != 0)
            {
                vma.SetFileForDriver(new MappedFile(Inode.NewShmem(vma.End - vma.Start), "/dev/zero (deleted)", canRead: true, canWrite: true) { Fop = Shmem.Fop });
                vma.SetVmOpsForDriver(Shmem.VmOps);
            }
            else
            {
                vma.SetVmOpsForDriver(null);
            }

            return Errno.None;
        },
    };

    /// <summary>/dev/null has no mmap hook: mmap is ENODEV.</summary>
    public static FileOperations NullFop { get; } = new() { Name = "/dev/null" };

    /// <summary>The host's device numbers for /dev/zero and /dev/null (devtmpfs), where readable.</summary>
    public static Inode NewZeroInode() => new(0, 5, 4) { IsDevice = true, Fop = ZeroFop };

    public static Inode NewNullInode() => new(0, 5, 3) { IsDevice = true, Fop = NullFop };
}
