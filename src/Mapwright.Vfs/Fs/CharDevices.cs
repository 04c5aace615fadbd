using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Vfs.Fs;

/// <summary>/dev/zero and /dev/null of one machine. Linux: drivers/char/mem.c.</summary>
internal sealed class CharDevices
{
    private readonly Shmem _shmem;

    /// <summary>Devices whose shared /dev/zero mappings get files of <paramref name="shmem"/>.</summary>
    public CharDevices(Shmem shmem)
    {
        _shmem = shmem;
        ZeroFop = new()
        {
            Name = "/dev/zero",
            Mmap = (file, vma) =>
            {
                if ((vma.Flags & VmFlags.Shared) != 0)
                {
                    vma.SetFileForDriver(_shmem.ZeroSetup(vma.End - vma.Start));
                    vma.SetVmOpsForDriver(Shmem.VmOps);
                }
                else
                {
                    vma.SetVmOpsForDriver(null);
                }

                return Errno.None;
            },
        };
    }

    /// <summary>/dev/zero: a shared mapping becomes shmem-backed ("/dev/zero (deleted)"), a private one
    /// anonymous memory that still holds the /dev/zero file. Linux: mmap_zero() → shmem_zero_setup() /
    /// vma_set_anonymous().</summary>
    public FileOperations ZeroFop { get; }

    /// <summary>/dev/null has no mmap hook: mmap is ENODEV.</summary>
    public static FileOperations NullFop { get; } = new() { Name = "/dev/null" };

    /// <summary>/dev/zero with the host's device and inode numbers where it can be read (devtmpfs), so that
    /// maps lines of private /dev/zero mappings match the host's.</summary>
    public Inode NewZeroInode() => NewDeviceInode("/dev/zero", 4, ZeroFop);

    public Inode NewNullInode() => NewDeviceInode("/dev/null", 3, NullFop);

    private static Inode NewDeviceInode(string path, ulong fallbackIno, FileOperations fop)
    {
        if (HostFs.HostStat.TryStat(path, out uint major, out uint minor, out ulong ino, out _))
        {
            return new Inode(major, minor, ino) { IsDevice = true, Fop = fop };
        }

        return new Inode(0, 5, fallbackIno) { IsDevice = true, Fop = fop };
    }
}
