namespace Mapwright.Contract;

/// <summary>
/// An open file: what a file descriptor refers to and what a VMA maps. VMAs that map the same open
/// file hold the same instance (Linux compares vm_file pointers when merging).
/// Linux: include/linux/fs.h struct file.
/// </summary>
public sealed class MappedFile
{
    public MappedFile(Inode inode, string path, bool canRead, bool canWrite)
    {
        Inode = inode;
        Path = path;
        CanRead = canRead;
        CanWrite = canWrite;
    }

    /// <summary>A read-only file identity (initial maps lines).</summary>
    public MappedFile(string path, uint devMajor, uint devMinor, ulong ino)
        : this(new Inode(devMajor, devMinor, ino), path, canRead: true, canWrite: false)
    {
    }

    /// <summary>Immutable after construction.</summary>
    public Inode Inode { get; }

    /// <summary>Path as maps prints it (may end in " (deleted)"). Immutable after construction.</summary>
    public string Path { get; }

    /// <summary>FMODE_READ. Immutable after construction.</summary>
    public bool CanRead { get; }

    /// <summary>FMODE_WRITE. Immutable after construction.</summary>
    public bool CanWrite { get; }

    /// <summary>The file operations; by default the inode's. Linux: file->f_op.</summary>
    public FileOperations? Fop { get; init; }

    /// <summary>Per-open-file driver state. Linux: file->private_data.</summary>
    public object? PrivateData { get; set; }

    public uint DevMajor => Inode.DevMajor;

    public uint DevMinor => Inode.DevMinor;

    public ulong Ino => Inode.Ino;

    public ulong Size
    {
        get => Inode.Size;
        set => Inode.Size = value;
    }

    public bool IsShmem
    {
        get => Inode.IsShmem;
        init => Inode.IsShmem = value;
    }

    public PageCacheSet PageCache => Inode.PageCache;

    public FileOperations? Operations => Fop ?? Inode.Fop;

    public override string ToString() => Path;
}
