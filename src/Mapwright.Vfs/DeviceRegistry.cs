using Mapwright.Contract;

namespace Mapwright.Vfs;

/// <summary>
/// The device nodes of one machine: the character devices and the drivers registered under /dev. Opening a
/// registered path gives a file on the device's inode, whose file operations are the driver's. Device inodes
/// are numbered here, so two machines in one process number theirs independently.
/// Linux: the char-device map (fs/char_dev.c chrdev_open()) together with devtmpfs's nodes.
/// </summary>
public sealed class DeviceRegistry
{
    private readonly Dictionary<string, Inode> _nodes = new(StringComparer.Ordinal);

    /// <summary>Inode numbers of device nodes made here (device 00:05, devtmpfs). Protected by: single-threaded
    /// use of the machine.</summary>
    private ulong _nextIno = 100;

    /// <summary>A registry for a machine whose lock-order checker is <paramref name="lockDep"/>.</summary>
    public DeviceRegistry(Locking.LockDep lockDep)
    {
        ArgumentNullException.ThrowIfNull(lockDep);
        LockDep = lockDep;
    }

    /// <summary>The machine's lock-order checker, for the mutexes a driver makes (<see cref="DeviceMutex"/>):
    /// its hooks run in the machine's task. Immutable after construction.</summary>
    public Locking.LockDep LockDep { get; }

    /// <summary>Registers a device node with the given inode; false if the path is taken.</summary>
    public bool Register(string path, Inode inode)
    {
        ArgumentNullException.ThrowIfNull(inode);
        return _nodes.TryAdd(path, inode);
    }

    /// <summary>Registers a driver's file operations at <paramref name="path"/> on a new device inode, which
    /// is returned.</summary>
    public Inode Register(string path, FileOperations fop)
    {
        Inode inode = NewDeviceInode(fop);
        if (!_nodes.TryAdd(path, inode))
        {
            throw new InvalidOperationException($"{path}: a device is already registered there");
        }

        return inode;
    }

    /// <summary>A device inode not registered under any path (a stacked driver's lower device).</summary>
    public Inode NewDeviceInode(FileOperations fop) => new(0, 5, _nextIno++) { IsDevice = true, Fop = fop };

    /// <summary>True if <paramref name="path"/> is a registered device node.</summary>
    public bool Contains(string path) => _nodes.ContainsKey(path);

    /// <summary>Opens the device node at <paramref name="path"/>; false if none is registered there.</summary>
    public bool TryOpen(string path, bool canRead, bool canWrite, out MappedFile? file)
    {
        file = null;
        if (!_nodes.TryGetValue(path, out Inode? inode))
        {
            return false;
        }

        file = new MappedFile(inode, path, canRead, canWrite);
        return true;
    }
}
