using Mapwright.Abi;

namespace Mapwright.Vfs.Fs.HostFs;

/// <summary>
/// Host files, reachable by path: read from the host with the host's device and inode numbers, never
/// modified. An open for writing gets a private copy of the inode (copy-up, as an overlay's upper layer),
/// so the host stays untouched. Linux: the host's ext4 (generic_file_mmap_prepare, thp_get_unmapped_area).
/// </summary>
public sealed class HostFiles
{
    private const uint SIfMt = 0xf000, SIfReg = 0x8000, SIfDir = 0x4000;
    private const ulong OAccMode = 3, OWronly = 1, ORdwr = 2, OCreat = 0x40, OExcl = 0x80, OTrunc = 0x200, ODirectory = 0x10000;

    private readonly Dictionary<string, Inode> _inodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Inode> _copies = new(StringComparer.Ordinal);

    /// <summary>generic_file_vm_ops: page-cache backed, no close hook.</summary>
    public static VmOperations FileVmOps { get; } = new() { MapPages = true, WriteNotify = true };

    /// <summary>Regular host files: mmap_prepare sets the file VM operations.
    /// Linux: mm/filemap.c generic_file_mmap_prepare().</summary>
    public static FileOperations RegularFop { get; } = new()
    {
        Name = "hostfs",
        MmapPrepare = desc =>
        {
            desc.VmOps = FileVmOps;
            return Errno.None;
        },
    };

    /// <summary>Directories, devices and pseudo files have no mmap hook here (ENODEV).</summary>
    public static FileOperations DirectoryFop { get; } = new() { Name = "hostfs special" };

    /// <summary>Opens a host path. Returns ENOENT, EISDIR, EEXIST as the host would.</summary>
    public Errno Open(string path, ulong flags, out MappedFile? file)
    {
        file = null;
        ulong acc = flags & OAccMode;
        bool canRead = acc != OWronly;
        bool canWrite = acc is OWronly or ORdwr;
        string statPath = ProcSelf(path);
        if (!HostStat.TryStat(statPath, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode))
        {
            if ((flags & OCreat) == 0)
            {
                return Errno.ENOENT;
            }

            // A new file exists only in the in-memory layer.
            if (!_copies.TryGetValue(path, out Inode? created))
            {
                created = Inode.NewShmem(0);
                created.IsShmem = false;
                _copies[path] = created;
            }

            file = new MappedFile(created, path, canRead, canWrite) { Fop = RegularFop };
            return Errno.None;
        }

        if ((flags & (OCreat | OExcl)) == (OCreat | OExcl))
        {
            return Errno.EEXIST;
        }

        bool isDir = (mode & SIfMt) == SIfDir;
        if (isDir && canWrite)
        {
            return Errno.EISDIR;
        }

        if (!isDir && (flags & ODirectory) != 0)
        {
            return Errno.ENOTDIR;
        }

        if (isDir)
        {
            file = new MappedFile(GetInode(path, major, minor, ino, 0, DirectoryFop), path, canRead, false);
            return Errno.None;
        }

        if ((mode & SIfMt) != SIfReg || statPath.StartsWith("/proc/", StringComparison.Ordinal) || statPath.StartsWith("/sys/", StringComparison.Ordinal))
        {
            // Devices, FIFOs, sockets and pseudo files: no mmap hook here (mmap is ENODEV).
            file = new MappedFile(GetInode(path, major, minor, ino, size, DirectoryFop), path, canRead, canWrite);
            return Errno.None;
        }

        Inode inode;
        if (canWrite || (flags & OTrunc) != 0 || _copies.ContainsKey(path))
        {
            // Copy-up: the first write open gives this process its own copy of the inode.
            if (!_copies.TryGetValue(path, out Inode? copy))
            {
                copy = new Inode(major, minor, ino) { Size = size, Fop = RegularFop, ThpAlignedMappings = true };
                copy.PageCache.Filler = HostFiller(statPath);
                _copies[path] = copy;
            }

            inode = copy;
            if ((flags & OTrunc) != 0 && canWrite)
            {
                inode.Size = 0;
            }
        }
        else
        {
            inode = GetInode(path, major, minor, ino, size, RegularFop);
        }

        file = new MappedFile(inode, path, canRead, canWrite);
        return Errno.None;
    }

    /// <summary>Reads a page of the host file into a new page-cache page (the host file is only read).</summary>
    private static PageFiller HostFiller(string path) => (pgoff, buf) =>
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            long offset = (long)(pgoff << PageConstants.PageShift);
            int done = 0;
            while (done < buf.Length)
            {
                int n = RandomAccess.Read(handle, buf[done..], offset + done);
                if (n <= 0)
                {
                    break;
                }

                done += n;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    };

    /// <summary>/proc/PID/... of the traced process is looked up as /proc/self/... (that process is gone).</summary>
    private static string ProcSelf(string path)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return path;
        }

        int end = path.IndexOf('/', 6);
        string pid = end < 0 ? path[6..] : path[6..end];
        if (pid.Length == 0 || !pid.All(char.IsAsciiDigit))
        {
            return path;
        }

        return "/proc/self" + (end < 0 ? string.Empty : path[end..]);
    }

    private Inode GetInode(string path, uint major, uint minor, ulong ino, ulong size, FileOperations fop)
    {
        string key = $"{major}:{minor}:{ino}";
        if (!_inodes.TryGetValue(key, out Inode? inode))
        {
            inode = new Inode(major, minor, ino) { Size = size, Fop = fop, ThpAlignedMappings = fop == RegularFop };
            if (fop == RegularFop)
            {
                inode.PageCache.Filler = HostFiller(path);
            }

            _inodes[key] = inode;
        }

        return inode;
    }
}
