using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Vfs;
using Mapwright.Vfs.Devices;
using Mapwright.Vfs.Fs;

namespace Mapwright.Syscalls;

/// <summary>The file calls a memory trace needs: open, openat, close, memfd_create, ftruncate.</summary>
public sealed partial class MmSyscalls
{
    private const ulong OAccMode = 3, OWronly = 1, ORdwr = 2, OCreat = 0x40, OCloexec = 0x80000, MfdCloexec = 1;

    /// <summary>The process's file descriptors.</summary>
    public FdTable Files { get; }

    /// <summary>The example drivers of /dev/mapwright/ (and their leak report), shared with forked children.</summary>
    public ExampleDevices Devices { get; }

    private readonly Vfs.Fs.HostFs.HostFiles _host;
    private readonly Inode _zero;
    private readonly Inode _null;

    /// <summary>openat(dirfd, path, flags, mode). Reaches /dev/zero, /dev/null, /dev/mapwright/* and host files
    /// (read-only; writes go to a private copy). Linux: fs/open.c do_sys_openat2().</summary>
    public SysResult Openat(ulong dirfd, string path, ulong flags, ulong mode)
    {
        _ = mode;
        if (!path.StartsWith('/') && dirfd != unchecked((ulong)-100) && Files.Get(dirfd) is null)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        ulong acc = flags & OAccMode;
        bool canRead = acc != OWronly;
        bool canWrite = acc is OWronly or ORdwr;
        MappedFile? file;
        switch (path)
        {
            case "/dev/zero":
                file = new MappedFile(_zero, path, canRead, canWrite);
                break;
            case "/dev/null":
                file = new MappedFile(_null, path, canRead, canWrite);
                break;
            default:
                if (path.StartsWith("/dev/mapwright/", StringComparison.Ordinal)
                    && Devices.TryOpen(path["/dev/mapwright/".Length..], canRead, canWrite, out file))
                {
                    break;
                }

                if (!path.StartsWith('/'))
                {
                    // Relative paths resolve against "/" (the model does not know the traced process's cwd).
                    path = "/" + path;
                }

                Errno err = _host.Open(path, flags, out file);
                if (err != Errno.None)
                {
                    return SysResult.Fail(err);
                }

                break;
        }

        int fd = Files.Install(file!);
        Files.SetCloseOnExec(fd, (flags & OCloexec) != 0);
        return SysResult.Ok((ulong)fd);
    }

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
        Mm.Machine.ReleaseIfUnused(file!.Inode);
        return SysResult.Ok(0);
    }

    /// <summary>memfd_create(name, flags). Linux: mm/memfd.c.</summary>
    public SysResult MemfdCreate(string name, ulong flags)
    {
        Errno err = Shmem.MemfdCreate(name, (ulong)(uint)flags, out MappedFile? file);
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

        if (!file.CanWrite || !file.Inode.IsShmem)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        Inode inode = file.Inode;
        if ((length < inode.Size && (inode.Seals & FileSeals.Shrink) != 0) || (length > inode.Size && (inode.Seals & FileSeals.Grow) != 0))
        {
            return SysResult.Fail(Errno.EPERM);
        }

        using var _ = Mm.MmapLock.Read();
        ulong oldSize = inode.Size;
        inode.Size = length;
        if (length < oldSize)
        {
            foreach (AddressSpace mm in Mm.Machine.AddressSpaces)
            {
                mm.TruncateMappings(inode, length);
            }

            AddressSpace.TruncatePageCache(inode, length);
        }

        return SysResult.Ok(0);
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
        foreach (AddressSpace mm in Mm.Machine.AddressSpaces)
        {
            n += mm.CountWritableMappings(inode);
        }

        return n;
    }
}
