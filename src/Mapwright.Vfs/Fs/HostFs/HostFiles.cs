using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Vfs.Fs.HostFs;

/// <summary>
/// Host files, reachable by path: read from the host with the host's device and inode numbers, never
/// modified. An open for writing gets a private copy of the inode (copy-up, as an overlay's upper layer),
/// so the host stays untouched. Linux: the host's ext4 (generic_file_mmap_prepare, thp_get_unmapped_area).
/// </summary>
internal sealed class HostFiles
{
    private const uint SIfMt = 0xf000, SIfReg = 0x8000, SIfDir = 0x4000, SIfSock = 0xc000;
    private const ulong OAccMode = 3, OWronly = 1, ORdwr = 2, OCreat = 0x40, OExcl = 0x80, OTrunc = 0x200, ODirectory = 0x10000;

    private readonly Dictionary<string, Inode> _inodes = new(StringComparer.Ordinal);

    /// <summary>Host inodes by the resolved path they were opened with (unlink marks them deleted).</summary>
    private readonly Dictionary<string, Inode> _inodesByPath = new(StringComparer.Ordinal);

    /// <summary>The private layer: files created, or copied up by a write open, during the replay.</summary>
    private readonly Dictionary<string, Inode> _copies = new(StringComparer.Ordinal);

    /// <summary>Names the replay unlinked: the host's file there is hidden from then on.</summary>
    private readonly HashSet<string> _removed = new(StringComparer.Ordinal);

    /// <summary>Names of the private layer that are sockets (bind): they do not open.</summary>
    private readonly HashSet<string> _sockets = new(StringComparer.Ordinal);

    /// <summary>Names of the private layer that are directories (mkdir); their inodes are in the layer too.</summary>
    private readonly HashSet<string> _dirs = new(StringComparer.Ordinal);

    /// <summary>Inode numbers of created files count down from the top, clear of the host's.</summary>
    private ulong _layerIno = 0xfff0_0000_0000_0000;

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

    /// <summary>
    /// Opens a path: a file of the private layer (created or written during the replay) first, then the host's,
    /// unless the replay unlinked it. Returns ENOENT, EEXIST, EISDIR and ENOTDIR as Linux would. The file's
    /// path is the resolved one (symbolic links followed), as maps shows it.
    /// Linux: fs/namei.c path_openat(), do_open(); fs/open.c do_dentry_open().
    /// </summary>
    public Errno Open(string path, ulong flags, out MappedFile? file)
    {
        file = null;
        ulong acc = flags & OAccMode;
        bool canRead = acc != OWronly;
        bool canWrite = acc is OWronly or ORdwr;
        bool create = (flags & OCreat) != 0;
        bool exclusive = create && (flags & OExcl) != 0;
        string statPath = ProcSelf(path);
        string name = Resolve(statPath);
        if (_copies.TryGetValue(name, out Inode? layered))
        {
            // The private layer's own files: created, or copied up by an earlier write open.
            if (exclusive)
            {
                return Errno.EEXIST;
            }

            if (_sockets.Contains(name))
            {
                return Errno.ENXIO; // Linux: a socket's inode has no open (fs/inode.c no_open()).
            }

            if (_dirs.Contains(name))
            {
                if (canWrite)
                {
                    return Errno.EISDIR;
                }

                file = new MappedFile(layered, name, canRead, false);
                return Errno.None;
            }

            if ((flags & ODirectory) != 0)
            {
                return Errno.ENOTDIR;
            }

            file = new MappedFile(layered, name, canRead, canWrite) { Fop = layered.Fop ?? RegularFop };
            return Errno.None;
        }

        bool onHost = !_removed.Contains(name) && HostStat.TryStat(statPath, out _, out _, out _, out _, out _);
        if (!onHost)
        {
            if (!create)
            {
                return Errno.ENOENT;
            }

            string? dir = Path.GetDirectoryName(name);
            if (!TryStatDir(dir, out uint dmajor, out uint dminor, out bool dirIsDir))
            {
                return Errno.ENOENT;
            }

            if (!dirIsDir)
            {
                return Errno.ENOTDIR;
            }

            // A new file exists only in the private layer, on its directory's device; its inode number is the
            // layer's own (the traced run's file got one the model cannot know).
            var created = new Inode(dmajor, dminor, NextLayerIno()) { Size = 0, Fop = RegularFop, IsRegular = true, ThpAlignedMappings = true };
            _copies[name] = created;
            _removed.Remove(name);
            file = new MappedFile(created, name, canRead, canWrite) { Fop = RegularFop };
            return Errno.None;
        }

        HostStat.TryStat(statPath, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode);
        if (exclusive)
        {
            return Errno.EEXIST;
        }

        bool isDir = (mode & SIfMt) == SIfDir;
        if (isDir && canWrite)
        {
            return Errno.EISDIR;
        }

        if ((mode & SIfMt) == SIfSock)
        {
            return Errno.ENXIO; // Linux: fs/inode.c no_open().
        }

        if (!isDir && (flags & ODirectory) != 0)
        {
            return Errno.ENOTDIR;
        }

        if (isDir)
        {
            file = new MappedFile(GetInode(name, statPath, major, minor, ino, 0, DirectoryFop), name, canRead, false);
            return Errno.None;
        }

        if ((mode & SIfMt) != SIfReg || statPath.StartsWith("/proc/", StringComparison.Ordinal) || statPath.StartsWith("/sys/", StringComparison.Ordinal))
        {
            // Devices, FIFOs, sockets and pseudo files: no mmap hook here (mmap is ENODEV).
            file = new MappedFile(GetInode(name, statPath, major, minor, ino, size, DirectoryFop), name, canRead, canWrite);
            return Errno.None;
        }

        Inode inode;
        if (canWrite || (flags & OTrunc) != 0)
        {
            // Copy-up: from the first write open the replay's file lives in the private layer; the host file stays
            // as it is. It is the same inode (one page cache) as the descriptors and mappings already open on it.
            inode = GetInode(name, statPath, major, minor, ino, size, RegularFop);
            _copies[name] = inode;
        }
        else
        {
            inode = GetInode(name, statPath, major, minor, ino, size, RegularFop);
        }

        file = new MappedFile(inode, name, canRead, canWrite);
        return Errno.None;
    }

    /// <summary>
    /// unlinkat(path, flags): removes a name from the private layer, or hides a host file from the rest of the
    /// replay (the host is never written). A directory must be empty (ENOTEMPTY): no name of the layer under it,
    /// no host entry not hidden. Open files and mappings keep the inode; maps marks them
    /// " (deleted)". With AT_REMOVEDIR the name must be a directory.
    /// Linux: fs/namei.c do_unlinkat(), do_rmdir().
    /// </summary>
    public Errno Unlink(string path, bool removeDir)
    {
        string leaf = path.TrimEnd('/');
        leaf = leaf[(leaf.LastIndexOf('/') + 1)..];
        if (leaf is "." or "..")
        {
            // Linux: fs/namei.c do_rmdir() refuses a last component of "." (EINVAL) or ".." (ENOTEMPTY); unlink
            // of either is a directory's (EISDIR).
            return !removeDir ? Errno.EISDIR : leaf == "." ? Errno.EINVAL : Errno.ENOTEMPTY;
        }

        string statPath = ProcSelf(path);
        string name = Resolve(statPath, followLast: false);
        if (_copies.TryGetValue(name, out Inode? layered))
        {
            bool layeredDir = _dirs.Contains(name);
            if (layeredDir != removeDir)
            {
                return layeredDir ? Errno.EISDIR : Errno.ENOTDIR;
            }

            if (layeredDir && HasEntries(name, statPath, onHost: false))
            {
                return Errno.ENOTEMPTY;
            }

            layered.Unlinked = true;
            RemoveName(name);
            return Errno.None;
        }

        if (_removed.Contains(name) || !HostStat.TryLstat(statPath, out _, out _, out _, out _, out uint mode))
        {
            return Errno.ENOENT;
        }

        bool isDir = (mode & SIfMt) == SIfDir;
        if (isDir != removeDir)
        {
            return isDir ? Errno.EISDIR : Errno.ENOTDIR;
        }

        if (isDir && HasEntries(name, statPath, onHost: true))
        {
            return Errno.ENOTEMPTY;
        }

        if (_inodesByPath.TryGetValue(name, out Inode? hosted))
        {
            hosted.Unlinked = true;
        }

        _removed.Add(name);
        return Errno.None;
    }

    /// <summary>
    /// mknod(), and bind() of a UNIX socket to a path: makes a name in the private layer, a regular file, a FIFO or
    /// a socket (the host is never written). EEXIST where the name is taken (a dangling symbolic link included),
    /// ENOENT or ENOTDIR for a missing or non-directory parent; under /proc ENOENT (its lookups fail for new names),
    /// under /sys EPERM (its directories make no nodes). A FIFO opens with no mmap hook (ENODEV), a socket does not open (ENXIO).
    /// Linux: fs/namei.c do_mknodat(), filename_create(), vfs_mknod(); net/unix/af_unix.c unix_bind_bsd().
    /// </summary>
    public Errno MakeNode(string path, HostNodeKind kind)
    {
        Errno err = CheckNewName(path, out string name, out uint dmajor, out uint dminor);
        if (err != Errno.None)
        {
            return err;
        }

        bool regular = kind == HostNodeKind.Regular;
        var node = new Inode(dmajor, dminor, NextLayerIno())
        {
            Size = 0,
            Fop = regular ? RegularFop : DirectoryFop,
            IsRegular = regular,
            ThpAlignedMappings = regular,
        };
        AddName(name, node, socket: kind == HostNodeKind.Socket);
        return Errno.None;
    }

    /// <summary>
    /// link(): a second name for an existing file, in the private layer. ENOENT for a missing file, EPERM for a
    /// directory, EEXIST where the new name is taken, ENOENT/ENOTDIR for the new name's parent, EXDEV across file
    /// systems. Symbolic links are followed (the link names their target). Linux: fs/namei.c do_linkat(), vfs_link().
    /// </summary>
    public Errno Link(string oldPath, string newPath)
    {
        Errno err = FindExisting(oldPath, out string oldName, out Inode? inode, out bool isDir);
        if (err != Errno.None)
        {
            return err;
        }

        err = CheckNewName(newPath, out string newName, out uint dmajor, out uint dminor);
        if (err != Errno.None)
        {
            return err;
        }

        // The mount first, then the kind (fs/namei.c do_linkat(), then vfs_link()).
        if (inode!.DevMajor != dmajor || inode.DevMinor != dminor)
        {
            return Errno.EXDEV;
        }

        if (isDir)
        {
            return Errno.EPERM;
        }

        AddName(newName, inode, socket: _sockets.Contains(oldName));
        return Errno.None;
    }

    /// <summary>
    /// rename() of a file (not a directory: null, outside the model). RENAME_NOREPLACE (1) makes a taken new name
    /// EEXIST; RENAME_EXCHANGE (2) swaps two names, both of which must exist; other flags are EINVAL. A file the
    /// new name held is unlinked (its open files and mappings go on, shown as deleted); renaming a name onto another
    /// name of the same file does nothing. Errors: ENOENT, ENOTDIR, EISDIR (a file onto a directory), EXDEV.
    /// Linux: fs/namei.c do_renameat2(), vfs_rename().
    /// </summary>
    public Errno? Rename(string oldPath, string newPath, ulong flags)
    {
        const ulong noReplace = 1, exchange = 2;
        if ((flags & ~(noReplace | exchange)) != 0 || flags == (noReplace | exchange))
        {
            return Errno.EINVAL;
        }

        Errno err = FindExisting(oldPath, out string oldName, out Inode? inode, out bool isDir, followLast: false);
        if (err != Errno.None)
        {
            return err;
        }

        // The two parents' mounts are compared before the new name is looked up (fs/namei.c do_renameat2()).
        string? newDir = Path.GetDirectoryName(Resolve(ProcSelf(newPath), followLast: false));
        if (!TryStatDir(newDir, out uint dmajor, out uint dminor, out bool newDirIsDir))
        {
            return Errno.ENOENT;
        }

        if (!newDirIsDir)
        {
            return Errno.ENOTDIR;
        }

        if (inode!.DevMajor != dmajor || inode.DevMinor != dminor)
        {
            return Errno.EXDEV;
        }

        Errno newErr = FindExisting(newPath, out string newName, out Inode? target, out bool targetIsDir, followLast: false);
        if (newErr is not (Errno.None or Errno.ENOENT))
        {
            return newErr;
        }

        if (newErr == Errno.ENOENT)
        {
            if ((flags & exchange) != 0)
            {
                return Errno.ENOENT;
            }

            Errno parentErr = CheckNewName(newPath, out newName, out _, out _);
            if (parentErr != Errno.None)
            {
                return parentErr;
            }

            target = null;
        }
        else if ((flags & noReplace) != 0)
        {
            return Errno.EEXIST;
        }

        if (isDir || targetIsDir)
        {
            // Directories are the host's, with what lies under them: moving one is outside the private layer.
            return isDir && target is not null && !targetIsDir ? Errno.ENOTDIR : !isDir && targetIsDir ? Errno.EISDIR : null;
        }

        if (ReferenceEquals(inode, target) || oldName == newName)
        {
            return Errno.None; // two names of one file: nothing happens
        }

        bool oldSocket = _sockets.Contains(oldName), newSocket = _sockets.Contains(newName);
        if ((flags & exchange) != 0)
        {
            AddName(oldName, target!, newSocket);
            AddName(newName, inode, oldSocket);
            return Errno.None;
        }

        if (target is not null)
        {
            target.Unlinked = true;
        }

        RemoveName(oldName);
        AddName(newName, inode, oldSocket);
        return Errno.None;
    }

    /// <summary>The file a path names, from the private layer or the host (hidden if the replay unlinked it):
    /// ENOENT, ENOTDIR for a non-directory on the way. A host file's inode is made as an open would make it.</summary>
    private Errno FindExisting(string path, out string name, out Inode? inode, out bool isDir, bool followLast = true)
    {
        string statPath = ProcSelf(path);
        name = Resolve(statPath, followLast);
        inode = null;
        isDir = false;
        if (_copies.TryGetValue(name, out Inode? layered))
        {
            inode = layered;
            isDir = _dirs.Contains(name);
            return Errno.None;
        }

        if (_removed.Contains(name))
        {
            return Errno.ENOENT;
        }

        bool found = followLast
            ? HostStat.TryStat(statPath, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode)
            : HostStat.TryLstat(statPath, out major, out minor, out ino, out size, out mode);
        if (!found)
        {
            string? dir = Path.GetDirectoryName(name);
            return TryStatDir(dir, out _, out _, out bool dirIsDir) && !dirIsDir ? Errno.ENOTDIR : Errno.ENOENT;
        }

        isDir = (mode & SIfMt) == SIfDir;
        bool regular = (mode & SIfMt) == SIfReg && !statPath.StartsWith("/proc/", StringComparison.Ordinal) && !statPath.StartsWith("/sys/", StringComparison.Ordinal);
        inode = GetInode(name, statPath, major, minor, ino, size, regular ? RegularFop : DirectoryFop);
        if ((mode & SIfMt) == SIfSock)
        {
            _sockets.Add(name);
        }

        return Errno.None;
    }

    /// <summary>A name that does not exist yet in an existing directory: EEXIST, ENOENT, ENOTDIR; under /proc
    /// ENOENT, under /sys EPERM.</summary>
    private Errno CheckNewName(string path, out string name, out uint dmajor, out uint dminor)
    {
        string statPath = ProcSelf(path);
        name = Resolve(statPath, followLast: false);
        dmajor = dminor = 0;
        if (_copies.ContainsKey(name) || (!_removed.Contains(name) && HostStat.TryLstat(statPath, out _, out _, out _, out _, out _)))
        {
            return Errno.EEXIST;
        }

        string? dir = Path.GetDirectoryName(name);
        if (!TryStatDir(dir, out dmajor, out dminor, out bool dirIsDir))
        {
            return Errno.ENOENT;
        }

        if (!dirIsDir)
        {
            return Errno.ENOTDIR;
        }

        if (name.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return Errno.ENOENT; // procfs looks a new name up as missing (fs/proc/base.c proc_pident_lookup()).
        }

        if (name.StartsWith("/sys/", StringComparison.Ordinal))
        {
            return Errno.EPERM; // sysfs directories have no mknod (fs/namei.c vfs_mknod()).
        }

        return Errno.None;
    }

    /// <summary>A parent directory as a lookup meets it: the layer's (a directory made by mkdir, or a file), else
    /// the host's unless hidden. False if there is none.</summary>
    private bool TryStatDir(string? dir, out uint major, out uint minor, out bool isDir)
    {
        major = minor = 0;
        isDir = false;
        if (dir is null)
        {
            return false;
        }

        if (_copies.TryGetValue(dir, out Inode? layered))
        {
            (major, minor, isDir) = (layered.DevMajor, layered.DevMinor, _dirs.Contains(dir));
            return true;
        }

        if (_removed.Contains(dir) || !HostStat.TryStat(dir, out major, out minor, out _, out _, out uint mode))
        {
            return false;
        }

        isDir = (mode & SIfMt) == SIfDir;
        return true;
    }

    /// <summary>The name of the private layer's directory a path names (mkdir made it), or null.</summary>
    public string? LayerDirectory(string path)
    {
        string name = Resolve(ProcSelf(path));
        return _dirs.Contains(name) ? name : null;
    }

    /// <summary>Whether a path names a directory: one mkdir made in the layer, or the host's unless hidden.</summary>
    public bool IsDirectory(string path)
    {
        string statPath = ProcSelf(path);
        string name = Resolve(statPath);
        return TryStatDir(name, out _, out _, out bool isDir) && isDir;
    }

    /// <summary>
    /// mkdir(): a directory in the private layer, on its parent's device (the host is never written). Errors as
    /// <see cref="MakeNode"/>'s. Null under /sys, where cgroup file systems make directories the model does not
    /// know. Linux: fs/namei.c do_mkdirat(), vfs_mkdir().
    /// </summary>
    public Errno? MakeDirectory(string path)
    {
        string statPath = ProcSelf(path);
        if (statPath.StartsWith("/sys/", StringComparison.Ordinal))
        {
            return null;
        }

        Errno err = CheckNewName(path, out string name, out uint dmajor, out uint dminor);
        if (err != Errno.None)
        {
            return err;
        }

        var dir = new Inode(dmajor, dminor, NextLayerIno()) { Size = 4096, Fop = DirectoryFop };
        AddName(name, dir, socket: false);
        _dirs.Add(name);
        return Errno.None;
    }

    /// <summary>Whether a directory holds a name: one of the layer's under it, or a host entry not hidden (a host
    /// directory that cannot be read counts as not empty).</summary>
    private bool HasEntries(string name, string statPath, bool onHost)
    {
        string prefix = name.EndsWith('/') ? name : name + "/";
        foreach (string key in _copies.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        if (!onHost)
        {
            return false;
        }

        try
        {
            foreach (string entry in Directory.EnumerateFileSystemEntries(statPath))
            {
                if (!_removed.Contains(prefix + Path.GetFileName(entry)))
                {
                    return true;
                }
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    private void AddName(string name, Inode inode, bool socket)
    {
        _copies[name] = inode;
        _removed.Remove(name);
        if (socket)
        {
            _sockets.Add(name);
        }
        else
        {
            _sockets.Remove(name);
        }
    }

    /// <summary>Takes a name away: from the private layer, and from the host's view (hidden).</summary>
    private void RemoveName(string name)
    {
        _copies.Remove(name);
        _sockets.Remove(name);
        _dirs.Remove(name);
        _removed.Add(name);
    }

    /// <summary>A path as d_path() prints it once opened: links followed. A name that does not exist yet is
    /// its resolved directory plus the name.</summary>
    private static string Resolve(string path, bool followLast = true)
    {
        if (!path.StartsWith('/') || path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return path;
        }

        if (followLast && HostPaths.RealPath(path, out string real) == Errno.None)
        {
            return real;
        }

        string trimmed = path.TrimEnd('/');
        int slash = trimmed.LastIndexOf('/');
        if (slash <= 0)
        {
            return trimmed.Length == 0 ? "/" : trimmed;
        }

        string leaf = trimmed[(slash + 1)..];
        if (leaf is "." or ".." || HostPaths.RealPath(trimmed[..slash], out string dir) != Errno.None)
        {
            return trimmed;
        }

        return dir == "/" ? "/" + leaf : dir + "/" + leaf;
    }

    private ulong NextLayerIno() => ++_layerIno;

    /// <summary>Reads a page of the host file into a new page-cache page (the host file is only read), no further
    /// than the inode's backing limit: past a truncation the file reads as zeros.</summary>
    private static PageFiller HostFiller(string path, Inode inode) => (pgoff, buf) =>
    {
        ulong offset = pgoff << PageConstants.PageShift;
        if (offset >= inode.BackingLimit)
        {
            return;
        }

        int wanted = (int)Math.Min((ulong)buf.Length, inode.BackingLimit - offset);
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            int done = 0;
            while (done < wanted)
            {
                int n = RandomAccess.Read(handle, buf[done..wanted], (long)offset + done);
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

    /// <summary>
    /// /proc/PID/... of the traced process is looked up as /proc/self/... (that process is gone), and the
    /// directory of one of its threads, /proc/self/task/TID/..., as the replay's own thread's,
    /// /proc/thread-self/... (a thread's comm, stat, status: what a runtime naming its threads opens).
    /// </summary>
    private static string ProcSelf(string path)
    {
        if (!path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            return path;
        }

        int end = path.IndexOf('/', 6);
        string pid = end < 0 ? path[6..] : path[6..end];
        if (pid.Length > 0 && pid.All(char.IsAsciiDigit))
        {
            path = "/proc/self" + (end < 0 ? string.Empty : path[end..]);
        }

        const string task = "/proc/self/task/";
        if (path.StartsWith(task, StringComparison.Ordinal))
        {
            int tidEnd = path.IndexOf('/', task.Length);
            string tid = tidEnd < 0 ? path[task.Length..] : path[task.Length..tidEnd];
            if (tid.Length > 0 && tid.All(char.IsAsciiDigit))
            {
                return "/proc/thread-self" + (tidEnd < 0 ? string.Empty : path[tidEnd..]);
            }
        }

        return path;
    }

    private Inode GetInode(string name, string statPath, uint major, uint minor, ulong ino, ulong size, FileOperations fop)
    {
        string key = $"{major}:{minor}:{ino}";
        if (!_inodes.TryGetValue(key, out Inode? inode))
        {
            bool regular = fop == RegularFop;
            inode = new Inode(major, minor, ino) { Size = size, Fop = fop, ThpAlignedMappings = regular, IsRegular = regular };
            if (regular)
            {
                inode.PageCache.Filler = HostFiller(statPath, inode);
            }

            _inodes[key] = inode;
        }

        _inodesByPath[name] = inode;
        return inode;
    }
}
