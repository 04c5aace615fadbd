namespace Mapwright.Vfs;

/// <summary>
/// The identity of a file a VMA maps, as <c>/proc/PID/maps</c> shows it: device, inode and path.
/// VMAs that map the same open file hold the same instance (Linux compares vm_file pointers).
/// Linux: include/linux/fs.h struct file (the parts the mm layer reads).
/// </summary>
public sealed class MappedFile
{
    public MappedFile(string path, uint devMajor, uint devMinor, ulong inode)
    {
        Path = path;
        DevMajor = devMajor;
        DevMinor = devMinor;
        Inode = inode;
    }

    /// <summary>Path as maps prints it (may end in " (deleted)"). Immutable after construction.</summary>
    public string Path { get; }

    public uint DevMajor { get; }

    public uint DevMinor { get; }

    public ulong Inode { get; }

    /// <summary>File size in bytes (i_size); a page at or past it cannot be faulted in (SIGBUS).
    /// Protected by: the inode lock (single-threaded model).</summary>
    public ulong Size { get; set; } = ulong.MaxValue;

    /// <summary>True for the shmem object behind a shared anonymous mapping (Linux: shmem_zero_setup()).</summary>
    public bool IsShmem { get; init; }

    /// <summary>Resident pages of this file. Protected by: the page-cache lock (single-threaded model).</summary>
    public PageCacheSet PageCache { get; } = new();
}
