using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Vfs;
using Mapwright.Vfs.Fs;

namespace Mapwright.Syscalls;

/// <summary>The file calls a memory trace needs: open, openat, close, memfd_create, ftruncate.</summary>
public sealed partial class MmSyscalls
{
    private const ulong OAccMode = 3, OWronly = 1, ORdwr = 2, OCreat = 0x40, OTrunc = 0x200, OCloexec = 0x80000, MfdCloexec = 1;

    /// <summary>The process's file descriptors.</summary>
    public FdTable Files { get; }

    private Vfs.Fs.HostFs.HostFiles Host => Machine.HostFiles;

    /// <summary>openat(dirfd, path, flags, mode). Reaches /dev/zero, /dev/null, /dev/mapwright/* and host files
    /// (read-only; writes go to a private copy). Linux: fs/open.c do_sys_openat2().</summary>
    public SysResult Openat(ulong dirfd, string path, ulong flags, ulong mode)
    {
        _ = mode;
        Errno pathErr = NamedPath(dirfd, ref path);
        if (pathErr != Errno.None)
        {
            return SysResult.Fail(pathErr);
        }

        ulong acc = flags & OAccMode;
        bool canRead = acc != OWronly;
        bool canWrite = acc is OWronly or ORdwr;
        if (!Machine.Devices.TryOpen(path, canRead, canWrite, out MappedFile? file))
        {
            if (TryParseFdLink(path) is { } fdLink)
            {
                Errno reopenErr = Reopen(fdLink, flags, canRead, canWrite, out file);
                if (reopenErr != Errno.None)
                {
                    return SysResult.Fail(reopenErr);
                }
            }
            else
            {
                Errno err = Host.Open(path, flags, out file);
                if (err != Errno.None)
                {
                    return SysResult.Fail(err);
                }

                if ((flags & OTrunc) != 0 && canWrite && file!.Inode.IsRegular)
                {
                    TruncateInode(file.Inode, 0);
                }
            }
        }

        int fd = Files.Install(file!);
        Files.SetCloseOnExec(fd, (flags & OCloexec) != 0);
        return SysResult.Ok((ulong)fd);
    }

    /// <summary>The working directory relative paths start from. A replay of a log starts it from the first
    /// execve's <c>PWD</c> when the log shows the environment, else <c>/</c>; chdir and fchdir change it.
    /// Linux: task->fs->pwd.</summary>
    public string Cwd { get; set; } = "/";

    /// <summary>Whether <see cref="Cwd"/> is known (from chdir, fchdir, or the environment execve was given) rather
    /// than assumed.</summary>
    public bool CwdKnown { get; set; }

    /// <summary>Makes <paramref name="path"/> absolute: as given when it starts with <c>/</c>, else from the working
    /// directory (AT_FDCWD) or from the directory open on <paramref name="dirfd"/> (EBADF if none, ENOTDIR if it is
    /// not a directory). Linux: fs/namei.c path_init().</summary>
    private Errno Absolute(ulong dirfd, ref string path)
    {
        if (path.StartsWith('/'))
        {
            return Errno.None;
        }

        string dir;
        if (dirfd == unchecked((ulong)-100))
        {
            dir = Cwd;
        }
        else if (Files.Get(dirfd) is not { } open)
        {
            return Errno.EBADF;
        }
        else if (!IsDirectory(open.Path))
        {
            return Errno.ENOTDIR;
        }
        else
        {
            dir = open.Path;
        }

        path = path.Length == 0 ? dir : dir.TrimEnd('/') + "/" + path;
        return Errno.None;
    }

    private bool IsDirectory(string path) => Host.IsDirectory(path);

    /// <summary>A path argument of a call that names a file: an empty one is ENOENT (no AT_EMPTY_PATH), a relative
    /// one starts from <paramref name="dirfd"/> (<see cref="Absolute"/>). Linux: fs/namei.c getname(), path_init().</summary>
    private Errno NamedPath(ulong dirfd, ref string path) => path.Length == 0 ? Errno.ENOENT : Absolute(dirfd, ref path);

    /// <summary>chdir(path). Linux: fs/open.c do_sys_chdir... set_fs_pwd().</summary>
    public SysResult Chdir(string path)
    {
        Errno err = NamedPath(unchecked((ulong)-100), ref path);
        if (err != Errno.None)
        {
            return SysResult.Fail(err);
        }

        Errno lookup = Vfs.Fs.HostFs.HostPaths.RealPath(path, out string real);
        if (lookup != Errno.None)
        {
            // A directory the replay made exists only in the private layer.
            if (Host.LayerDirectory(path) is not { } made)
            {
                return SysResult.Fail(lookup);
            }

            real = made;
        }

        if (!IsDirectory(real))
        {
            return SysResult.Fail(Errno.ENOTDIR);
        }

        Cwd = real;
        CwdKnown = true;
        return SysResult.Ok(0);
    }

    /// <summary>fchdir(fd): the directory open on fd. Linux: fs/open.c SYSCALL_DEFINE1(fchdir).</summary>
    public SysResult Fchdir(ulong fd)
    {
        if (Files.Get(fd) is not { } open)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if (!IsDirectory(open.Path))
        {
            return SysResult.Fail(Errno.ENOTDIR);
        }

        Cwd = open.Path;
        CwdKnown = true;
        return SysResult.Ok(0);
    }

    /// <summary>/proc/self/fd/N, /proc/thread-self/fd/N, /proc/PID/fd/N, /dev/fd/N: the descriptor N named, or null
    /// for any other path.</summary>
    private static ulong? TryParseFdLink(string path)
    {
        string rest;
        if (path.StartsWith("/dev/fd/", StringComparison.Ordinal))
        {
            rest = path["/dev/fd/".Length..];
        }
        else if (path.StartsWith("/proc/", StringComparison.Ordinal))
        {
            int fdAt = path.IndexOf("/fd/", 6, StringComparison.Ordinal);
            if (fdAt < 0)
            {
                return null;
            }

            string who = path[6..fdAt];
            if (who is not ("self" or "thread-self") && (who.Length == 0 || !who.All(char.IsAsciiDigit)))
            {
                return null;
            }

            rest = path[(fdAt + 4)..];
        }
        else
        {
            return null;
        }

        return rest.Length is > 0 and < 10 && rest.All(char.IsAsciiDigit) ? ulong.Parse(rest, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>
    /// Opening /proc/self/fd/N opens the file the descriptor holds again (the link is followed to the open file,
    /// not to a path): a memfd, a pipe or an unlinked file included. Sockets and anonymous inodes cannot be
    /// reopened (ENXIO). A host file opened for writing this way is copied up as any write open is.
    /// Linux: fs/proc/base.c proc_fd_link(), fs/namei.c nd_jump_link().
    /// </summary>
    private Errno Reopen(ulong fd, ulong flags, bool canRead, bool canWrite, out MappedFile? file)
    {
        file = null;
        if (Files.Get(fd) is not { } open)
        {
            return Errno.ENOENT;
        }

        Inode inode = open.Inode;
        if (inode.Fop?.Name == AnonInodeFsName)
        {
            // Sockets, eventfds, epoll and timer descriptors: no open through the link.
            return Errno.ENXIO;
        }

        if (canWrite && inode.IsRegular && !inode.IsShmem && !open.CanWrite && !inode.Unlinked)
        {
            // A read-only host inode: a write open goes through the private layer.
            Errno err = Host.Open(open.Path, flags & ~(OCreat | 0x80UL), out file);
            if (err == Errno.None && (flags & OTrunc) != 0 && file!.Inode.IsRegular)
            {
                TruncateInode(file.Inode, 0);
            }

            return err;
        }

        file = new MappedFile(inode, open.Path, canRead, canWrite) { Fop = open.Fop };
        if ((flags & OTrunc) != 0 && canWrite && inode.IsRegular)
        {
            TruncateInode(inode, 0);
        }

        return Errno.None;
    }

    /// <summary>The file operations name of descriptors the model knows only by number (sockets and anonymous
    /// inodes such as eventfd, epoll, timerfd): reopening them through /proc/self/fd is ENXIO.</summary>
    public const string AnonInodeFsName = "anon_inode";

    /// <summary>unlink(path) = unlinkat(AT_FDCWD, path, 0).</summary>
    public SysResult Unlink(string path) => Unlinkat(unchecked((ulong)-100), path, 0);

    /// <summary>unlinkat(dirfd, path, flags): AT_REMOVEDIR (0x200) removes a directory. Names of the private
    /// layer go; host names are hidden from the rest of the replay, never removed from the host.
    /// Linux: fs/namei.c do_unlinkat(), do_rmdir().</summary>
    public SysResult Unlinkat(ulong dirfd, string path, ulong flags)
    {
        const ulong atRemoveDir = 0x200;
        if ((flags & ~atRemoveDir) != 0)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        Errno pathErr = NamedPath(dirfd, ref path);
        if (pathErr != Errno.None)
        {
            return SysResult.Fail(pathErr);
        }

        Errno err = Host.Unlink(path, (flags & atRemoveDir) != 0);
        return SysResult.FromErrno(err);
    }

    /// <summary>mknod(path, mode, dev) = mknodat(AT_FDCWD, path, mode, dev).</summary>
    public SysResult Mknod(string path, ulong mode) => Mknodat(unchecked((ulong)-100), path, mode);

    /// <summary>
    /// mknodat(dirfd, path, mode, dev): a regular file (file type 0 or S_IFREG), a FIFO or a socket name in the
    /// private layer (<see cref="Vfs.Fs.HostFs.HostFiles.MakeNode"/>). S_IFDIR is EPERM (mkdir makes directories),
    /// an unknown file type EINVAL, and a character or block device EPERM: the model's process has no CAP_MKNOD.
    /// Permission bits are not modelled. Linux: fs/namei.c do_mknodat(), may_mknod(), vfs_mknod().
    /// </summary>
    public SysResult Mknodat(ulong dirfd, string path, ulong mode)
    {
        Vfs.Fs.HostFs.HostNodeKind kind;
        switch (mode & SIfMt)
        {
            case 0 or SIfReg:
                kind = Vfs.Fs.HostFs.HostNodeKind.Regular;
                break;
            case SIfIfo:
                kind = Vfs.Fs.HostFs.HostNodeKind.Fifo;
                break;
            case SIfSock:
                kind = Vfs.Fs.HostFs.HostNodeKind.Socket;
                break;
            case SIfDir or SIfChr or SIfBlk:
                return SysResult.Fail(Errno.EPERM);
            default:
                return SysResult.Fail(Errno.EINVAL);
        }

        Errno pathErr = NamedPath(dirfd, ref path);
        if (pathErr != Errno.None)
        {
            return SysResult.Fail(pathErr);
        }

        return SysResult.FromErrno(Host.MakeNode(path, kind));
    }

    /// <summary>mkdir(path, mode) = mkdirat(AT_FDCWD, path, mode).</summary>
    public SysResult? Mkdir(string path) => Mkdirat(unchecked((ulong)-100), path);

    /// <summary>
    /// mkdirat(dirfd, path, mode): a directory in the private layer (<see cref="Vfs.Fs.HostFs.HostFiles.MakeDirectory"/>);
    /// the mode's permission bits are not modelled. Null under /sys (cgroup file systems): outside the model.
    /// Linux: fs/namei.c do_mkdirat().
    /// </summary>
    public SysResult? Mkdirat(ulong dirfd, string path)
    {
        Errno err = NamedPath(dirfd, ref path);
        if (err != Errno.None)
        {
            return SysResult.Fail(err);
        }

        return Host.MakeDirectory(path) is { } made ? SysResult.FromErrno(made) : null;
    }

    /// <summary>rmdir(path) = unlinkat(AT_FDCWD, path, AT_REMOVEDIR).</summary>
    public SysResult Rmdir(string path) => Unlinkat(unchecked((ulong)-100), path, 0x200);

    /// <summary>link(oldpath, newpath) = linkat(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0).</summary>
    public SysResult? Link(string oldPath, string newPath) => Linkat(unchecked((ulong)-100), oldPath, unchecked((ulong)-100), newPath, 0);

    /// <summary>
    /// linkat(olddirfd, oldpath, newdirfd, newpath, flags): a second name for a file, in the private layer
    /// (<see cref="Vfs.Fs.HostFs.HostFiles.Link"/>). Flags other than AT_SYMLINK_FOLLOW and AT_EMPTY_PATH are
    /// EINVAL; an empty oldpath is ENOENT, and with AT_EMPTY_PATH (linking a descriptor's file, which needs
    /// CAP_DAC_READ_SEARCH) null: outside the model. Symbolic links are followed either way.
    /// Linux: fs/namei.c do_linkat().
    /// </summary>
    public SysResult? Linkat(ulong olddirfd, string oldPath, ulong newdirfd, string newPath, ulong flags)
    {
        const ulong atSymlinkFollow = 0x400, atEmptyPath = 0x1000;
        if ((flags & ~(atSymlinkFollow | atEmptyPath)) != 0)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        if (oldPath.Length == 0 && (flags & atEmptyPath) != 0)
        {
            return null;
        }

        Errno err = NamedPath(olddirfd, ref oldPath);
        if (err == Errno.None)
        {
            err = NamedPath(newdirfd, ref newPath);
        }

        return SysResult.FromErrno(err != Errno.None ? err : Host.Link(oldPath, newPath));
    }

    /// <summary>rename(oldpath, newpath) = renameat2(AT_FDCWD, oldpath, AT_FDCWD, newpath, 0).</summary>
    public SysResult? Rename(string oldPath, string newPath) => Renameat2(unchecked((ulong)-100), oldPath, unchecked((ulong)-100), newPath, 0);

    /// <summary>
    /// renameat2(olddirfd, oldpath, newdirfd, newpath, flags) of a file, in the private layer
    /// (<see cref="Vfs.Fs.HostFs.HostFiles.Rename"/>): RENAME_NOREPLACE and RENAME_EXCHANGE; other flags EINVAL.
    /// Null for the rename of a directory, which is outside the model. Linux: fs/namei.c do_renameat2().
    /// </summary>
    public SysResult? Renameat2(ulong olddirfd, string oldPath, ulong newdirfd, string newPath, ulong flags)
    {
        Errno err = NamedPath(olddirfd, ref oldPath);
        if (err == Errno.None)
        {
            err = NamedPath(newdirfd, ref newPath);
        }

        if (err != Errno.None)
        {
            return SysResult.Fail(err);
        }

        return Host.Rename(oldPath, newPath, flags) is { } done ? SysResult.FromErrno(done) : null;
    }

    /// <summary>File types of a mode (include/uapi/linux/stat.h).</summary>
    private const ulong SIfMt = 0xf000, SIfIfo = 0x1000, SIfChr = 0x2000, SIfDir = 0x4000, SIfBlk = 0x6000, SIfReg = 0x8000, SIfSock = 0xc000;

    /// <summary>dup(oldfd): the lowest free descriptor, on the same open file. Linux: fs/file.c.</summary>
    public SysResult Dup(ulong oldfd) =>
        Files.Get(oldfd) is { } file ? SysResult.Ok((ulong)Files.Install(file)) : SysResult.Fail(Errno.EBADF);

    /// <summary>dup2(oldfd, newfd) and dup3(oldfd, newfd, flags): newfd, closed first if open, on the same open
    /// file. dup2 with equal descriptors returns newfd; dup3 gives EINVAL there and for flags other than O_CLOEXEC.
    /// Linux: fs/file.c ksys_dup3(), do_dup2().</summary>
    public SysResult Dup3(ulong oldfd, ulong newfd, ulong flags, bool isDup2)
    {
        const ulong oCloexec = 0x80000;
        if (!isDup2 && (oldfd == newfd || (flags & ~oCloexec) != 0))
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        if (Files.Get(oldfd) is not { } file)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if (newfd >= FdLimit)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if (oldfd != newfd)
        {
            MappedFile? old = Files.Get(newfd);
            Files.InstallAt((int)newfd, file);
            Files.SetCloseOnExec((int)newfd, (flags & oCloexec) != 0);
            if (old is not null)
            {
                Machine.ReleaseIfUnused(old.Inode);
            }
        }

        return SysResult.Ok(newfd);
    }

    /// <summary>fcntl(fd, F_DUPFD or F_DUPFD_CLOEXEC, minfd): the lowest free descriptor at or above minfd.
    /// Linux: fs/fcntl.c f_dupfd().</summary>
    public SysResult DupFrom(ulong fd, ulong minfd, bool closeOnExec = false)
    {
        if (Files.Get(fd) is not { } file)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if (minfd >= FdLimit)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        ulong n = minfd;
        while (!Files.IsFree(n))
        {
            n++;
        }

        Files.InstallAt((int)n, file);
        Files.SetCloseOnExec((int)n, closeOnExec);
        return SysResult.Ok(n);
    }

    /// <summary>close_range(first, last, flags): closes every open descriptor in [first, last]; with
    /// CLOSE_RANGE_CLOEXEC (4) only marks them close-on-exec; CLOSE_RANGE_UNSHARE (2)
    /// changes nothing here. Linux: fs/file.c __close_range().</summary>
    public SysResult CloseRange(ulong first, ulong last, ulong flags)
    {
        const ulong unshare = 2, cloexec = 4;
        if ((flags & ~(unshare | cloexec)) != 0 || first > last)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        if ((flags & cloexec) != 0)
        {
            for (ulong fd = first; fd <= last && fd < (ulong)Files.Count; fd++)
            {
                Files.SetCloseOnExec((int)fd, true);
            }
        }
        else
        {
            for (ulong fd = first; fd <= last && fd < (ulong)Files.Count; fd++)
            {
                if (Files.Get(fd) is { } file)
                {
                    Files.Close(fd);
                    Machine.ReleaseIfUnused(file.Inode);
                }
            }
        }

        return SysResult.Ok(0);
    }

    /// <summary>RLIMIT_NOFILE as a replay assumes it (the usual soft limit is 1024; the hard limit 2^20 bounds
    /// dup2's target).</summary>
    private const ulong FdLimit = 1 << 20;

    /// <summary>open(path, flags, mode) = openat(AT_FDCWD, ...).</summary>
    public SysResult Open(string path, ulong flags, ulong mode) => Openat(unchecked((ulong)-100), path, flags, mode);

    /// <summary>close(fd). Mappings keep their file. Linux: fs/open.c close_fd().</summary>
    public SysResult Close(ulong fd)
    {
        MappedFile? file = Files.Get(fd);
        Errno err = Files.Close(fd);
        if (err != Errno.None)
        {
            return SysResult.Fail(err);
        }

        // The last reference to a memfd may have been this descriptor.
        Machine.ReleaseIfUnused(file!.Inode);
        return SysResult.Ok(0);
    }

    /// <summary>memfd_create(name, flags). Linux: mm/memfd.c.</summary>
    public SysResult MemfdCreate(string name, ulong flags)
    {
        Errno err = Machine.Shmem.MemfdCreate(name, (ulong)(uint)flags, out MappedFile? file);
        if (err != Errno.None)
        {
            return SysResult.Fail(err);
        }

        int fd = Files.Install(file!);
        Files.SetCloseOnExec(fd, (flags & MfdCloexec) != 0);
        return SysResult.Ok((ulong)fd);
    }

    /// <summary>
    /// ftruncate(fd, length): resizes a shmem file; pages past the new end leave the page cache and every
    /// mapping of them (private copies included), so later accesses there fault with SIGBUS.
    /// Linux: fs/open.c do_ftruncate(), mm/shmem.c shmem_setattr(), mm/truncate.c truncate_pagecache().
    /// </summary>
    public SysResult Ftruncate(ulong fd, ulong length)
    {
        if ((long)length < 0)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        MappedFile? file = Files.Get(fd);
        if (file is null)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if (!file.CanWrite || !(file.Inode.IsShmem || file.Inode.IsRegular))
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        Inode inode = file.Inode;
        if ((length < inode.Size && (inode.Seals & FileSeals.Shrink) != 0) || (length > inode.Size && (inode.Seals & FileSeals.Grow) != 0))
        {
            return SysResult.Fail(Errno.EPERM);
        }

        TruncateInode(inode, length);
        return SysResult.Ok(0);
    }

    /// <summary>Sets a file's size; pages past a smaller end leave the page cache and every mapping of them, and
    /// the backing store past it reads as zeros from then on. Linux: mm/truncate.c truncate_setsize().</summary>
    private void TruncateInode(Inode inode, ulong length)
    {
        using var _ = Mm.MmapLock.Read();
        ulong oldSize = inode.Size;
        inode.Size = length;
        if (length < oldSize)
        {
            inode.BackingLimit = Math.Min(inode.BackingLimit, length);
            foreach (AddressSpace mm in Machine.Mm.AddressSpaces)
            {
                MemoryOps.TruncateMappings(mm, inode, length);
            }

            MemoryOps.TruncatePageCache(inode, length);
        }
    }

    /// <summary>F_ADD_SEALS and F_GET_SEALS (fcntl commands 1033 and 1034).</summary>
    public const ulong FAddSeals = 1033, FGetSeals = 1034;

    /// <summary>
    /// fcntl(fd, F_ADD_SEALS | F_GET_SEALS, seals): memfd seals. Other commands are not modelled (EINVAL).
    /// Linux: mm/memfd.c memfd_fcntl(), memfd_add_seals().
    /// </summary>
    public SysResult FcntlSeals(ulong fd, ulong cmd, ulong arg)
    {
        MappedFile? file = Files.Get(fd);
        if (file is null)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        bool memfd = file.Path.StartsWith("/memfd:", StringComparison.Ordinal) && file.Inode.IsShmem;
        if (cmd == FGetSeals)
        {
            return memfd ? SysResult.Ok((ulong)file.Inode.Seals) : SysResult.Fail(Errno.EINVAL);
        }

        if (cmd != FAddSeals)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        const uint allSeals = 0x3f;
        uint seals = (uint)arg;
        if (!file.CanWrite)
        {
            return SysResult.Fail(Errno.EPERM);
        }

        if ((seals & ~allSeals) != 0 || !memfd)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        Inode inode = file.Inode;
        if ((inode.Seals & FileSeals.Seal) != 0)
        {
            return SysResult.Fail(Errno.EPERM);
        }

        if ((seals & (uint)FileSeals.Write) != 0 && (inode.Seals & FileSeals.Write) == 0 && CountWritableMappings(inode) > 0)
        {
            return SysResult.Fail(Errno.EBUSY);
        }

        inode.Seals |= (FileSeals)seals;
        return SysResult.Ok(0);
    }

    /// <summary>Shared, may-write mappings of an inode in every address space of the machine.
    /// Linux: include/linux/fs.h mapping_writably_mapped() (i_mmap_writable).</summary>
    private int CountWritableMappings(Inode inode)
    {
        int n = 0;
        foreach (AddressSpace mm in Machine.Mm.AddressSpaces)
        {
            n += mm.CountWritableMappings(inode);
        }

        return n;
    }
}
