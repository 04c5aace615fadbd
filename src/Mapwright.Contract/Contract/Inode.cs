namespace Mapwright.Contract;

/// <summary>
/// A file system object: identity (device and inode number, as maps prints them), size, page cache,
/// seals, and the file operations files opened on it get. Linux: include/linux/fs.h struct inode.
/// </summary>
public sealed class Inode
{
    public Inode(uint devMajor, uint devMinor, ulong ino)
    {
        DevMajor = devMajor;
        DevMinor = devMinor;
        Ino = ino;
    }

    /// <summary>Immutable after construction.</summary>
    public uint DevMajor { get; }

    /// <summary>Immutable after construction.</summary>
    public uint DevMinor { get; }

    /// <summary>Immutable after construction.</summary>
    public ulong Ino { get; }

    /// <summary>File size in bytes (i_size); a page at or past it cannot be faulted in (SIGBUS).
    /// <see cref="ulong.MaxValue"/> means "no end" (devices). Protected by: the inode lock.</summary>
    public ulong Size { get; internal set; } = ulong.MaxValue;

    /// <summary>True for tmpfs/shmem inodes (memfd, shared anonymous memory).</summary>
    public bool IsShmem { get; internal set; }

    /// <summary>True for a character device (its mappings are never merged by file identity alone).</summary>
    public bool IsDevice { get; init; }

    /// <summary>The file system's get_unmapped_area is thp_get_unmapped_area (ext4, xfs, btrfs on the host):
    /// hint-less mappings of 2 MiB or more are aligned to 2 MiB at their file offset.</summary>
    public bool ThpAlignedMappings { get; init; }

    /// <summary>The mount is noexec: PROT_EXEC mappings of it are EPERM. Linux: path_noexec().</summary>
    public bool NoExec { get; init; }

    /// <summary>A regular file of a file system (host file, a file created in the replay's private layer):
    /// ftruncate resizes it. Shmem files are regular too (<see cref="IsShmem"/>).</summary>
    public bool IsRegular { get; init; }

    /// <summary>The last name of the inode was removed (unlink): maps prints its mappings with
    /// " (deleted)", as d_path() does. Linux: d_unlinked().</summary>
    public bool Unlinked { get; internal set; }

    /// <summary>Bytes of the backing store still valid: a truncation below it cuts it, so that a file grown again
    /// reads zeros there, not what the host file held. Protected by: the inode lock.</summary>
    public ulong BackingLimit { get; internal set; } = ulong.MaxValue;

    /// <summary>memfd seals. Protected by: the inode lock. Linux: mm/memfd.c.</summary>
    public FileSeals Seals { get; internal set; }

    /// <summary>Resident pages. Protected by: the page-cache lock.</summary>
    public PageCacheSet PageCache { get; } = new();

    /// <summary>The file operations of files opened on this inode, or null for none (mmap → ENODEV).</summary>
    public FileOperations? Fop { get; init; }
}
