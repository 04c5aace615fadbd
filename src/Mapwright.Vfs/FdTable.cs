using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Vfs;

/// <summary>A process's file descriptors, numbered as Linux numbers them: the lowest free one.
/// Linux: fs/file.c alloc_fd().</summary>
public sealed class FdTable
{
    private readonly List<MappedFile?> _files = [];

    /// <summary>Descriptors with FD_CLOEXEC. Linux: struct fdtable close_on_exec.</summary>
    private readonly HashSet<int> _closeOnExec = [];

    /// <summary>Descriptors whose state is known: the reserved ones, and every one ever installed or closed. The
    /// others may have been inherited from whoever started the traced process.</summary>
    private readonly HashSet<int> _known = [];

    /// <summary>The descriptors below this one are open before the trace starts (standard input, output and
    /// error: a terminal, which has no mmap hook).</summary>
    internal FdTable(int reserved = 3)
    {
        var tty = new Inode(0x88, 0, 3) { IsDevice = true, Fop = new FileOperations { Name = "/dev/pts/0" } };
        for (int i = 0; i < reserved; i++)
        {
            _files.Add(new MappedFile(tty, "/dev/pts/0", canRead: true, canWrite: true));
            _known.Add(i);
        }

        Reserved = reserved;
    }

    public int Reserved { get; private set; }

    /// <summary>Installs a file at the lowest free descriptor. Linux: alloc_fd() from 0.</summary>
    internal int Install(MappedFile file)
    {
        if (_claimed >= 0)
        {
            int fd = _claimed;
            _claimed = -1;
            InstallAt(fd, file);
            return fd;
        }

        for (int i = 0; i < _files.Count; i++)
        {
            if (_files[i] is null && (_pending.Count == 0 || !_pending.Contains(i)))
            {
                _files[i] = file;
                _closeOnExec.Remove(i);
                _known.Add(i);
                return i;
            }
        }

        int next = _files.Count;
        while (_pending.Contains(next))
        {
            next++;
        }

        InstallAt(next, file);
        return next;
    }

    /// <summary>Whether descriptor <paramref name="fd"/> may be given out: no file, and no call in progress holds it.</summary>
    internal bool IsFree(ulong fd) => Get(fd) is null && !(fd < int.MaxValue && _pending.Contains((int)fd));

    /// <summary>Descriptors taken by calls still in progress (an open blocked on a FIFO, an accept): numbered at
    /// the call's entry, the file installed at its return; no other call gets them meanwhile.
    /// Linux: get_unused_fd_flags() ... fd_install(), or put_unused_fd() if the call fails.</summary>
    private readonly HashSet<int> _pending = [];

    /// <summary>The pending descriptor the next <see cref="Install"/> takes, or -1.</summary>
    private int _claimed = -1;

    /// <summary>Takes the lowest free descriptor for a call that has entered and not yet returned.
    /// Linux: fs/file.c get_unused_fd_flags().</summary>
    internal int ReserveUnused()
    {
        int fd = LowestUnused();
        _pending.Add(fd);
        return fd;
    }

    /// <summary>The descriptor <see cref="Install"/> would take now. Linux: alloc_fd() from 0.</summary>
    internal int LowestUnused()
    {
        int fd = 0;
        while ((fd < _files.Count && _files[fd] is not null) || _pending.Contains(fd))
        {
            fd++;
        }

        return fd;
    }

    /// <summary>Gives back a descriptor <see cref="ReserveUnused"/> took (the call failed, or never returned).
    /// Linux: put_unused_fd().</summary>
    internal void PutUnused(int fd) => _pending.Remove(fd);

    /// <summary>The returning call installs its file at <paramref name="fd"/>, its number (taken at entry, or free
    /// now): the next <see cref="Install"/> takes it. Ends with <see cref="EndClaim"/>.</summary>
    internal void Claim(int fd)
    {
        _pending.Remove(fd);
        if (fd >= _files.Count || _files[fd] is null)
        {
            _claimed = fd;
        }
    }

    /// <summary>Ends a <see cref="Claim"/>: a call that failed installed nothing, and its descriptor is free.</summary>
    internal void EndClaim() => _claimed = -1;

    /// <summary>Occupies descriptor <paramref name="fd"/> with a file the model does not know (a pipe, socket,
    /// eventfd... created by a call a replay skips), so that later descriptors are numbered as in the trace.</summary>
    internal void InstallAt(int fd, MappedFile file)
    {
        while (_files.Count <= fd)
        {
            _files.Add(null);
        }

        _files[fd] = file;
        _closeOnExec.Remove(fd);
        _known.Add(fd);
        _pending.Remove(fd);
    }

    /// <summary>One past the highest descriptor slot ever used.</summary>
    public int Count => _files.Count;

    /// <summary>Whether the descriptor's state is known (see <see cref="_known"/>): reserved, or installed or
    /// closed since, or taken by a call still in progress.</summary>
    public bool IsKnown(ulong fd) => fd < int.MaxValue && (_known.Contains((int)fd) || _pending.Contains((int)fd));

    public MappedFile? Get(ulong fd) => fd < (ulong)_files.Count ? _files[(int)fd] : null;

    internal Errno Close(ulong fd)
    {
        if (fd < int.MaxValue)
        {
            _known.Add((int)fd);
        }

        if (Get(fd) is null)
        {
            return Errno.EBADF;
        }

        _files[(int)fd] = null;
        _closeOnExec.Remove((int)fd);
        return Errno.None;
    }

    /// <summary>Sets or clears FD_CLOEXEC on an open descriptor (O_CLOEXEC, MFD_CLOEXEC, F_SETFD...).</summary>
    internal void SetCloseOnExec(int fd, bool closeOnExec)
    {
        if (Get((ulong)fd) is null)
        {
            return;
        }

        if (closeOnExec)
        {
            _closeOnExec.Add(fd);
        }
        else
        {
            _closeOnExec.Remove(fd);
        }
    }

    /// <summary>Whether the descriptor has FD_CLOEXEC.</summary>
    public bool IsCloseOnExec(ulong fd) => fd < int.MaxValue && _closeOnExec.Contains((int)fd);

    /// <summary>Closes every descriptor marked close-on-exec and returns their files. Linux: fs/file.c
    /// do_close_on_exec().</summary>
    internal List<MappedFile> CloseOnExec()
    {
        var closed = new List<MappedFile>();
        foreach (int fd in _closeOnExec)
        {
            if (_files[fd] is { } f)
            {
                closed.Add(f);
                _files[fd] = null;
            }
        }

        _closeOnExec.Clear();
        return closed;
    }

    /// <summary>A copy for a forked child: the same open files at the same numbers; a number another thread's call
    /// has taken but not yet filled is free in the copy. Linux: fs/file.c dup_fd().</summary>
    internal FdTable Clone()
    {
        var copy = new FdTable(0) { };
        copy._files.AddRange(_files);
        copy._closeOnExec.UnionWith(_closeOnExec);
        copy._known.UnionWith(_known);
        copy.Reserved = Reserved;
        return copy;
    }

    /// <summary>Closes every descriptor. Linux: exit_files().</summary>
    internal void CloseAll()
    {
        _files.Clear();
        _closeOnExec.Clear();
        _pending.Clear();
        _claimed = -1;
    }

    /// <summary>True if a descriptor refers to a file of <paramref name="inode"/>.</summary>
    public bool References(Inode inode)
    {
        foreach (MappedFile? f in _files)
        {
            if (f is not null && ReferenceEquals(f.Inode, inode))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The open files, for the machine's release checks.</summary>
    public IEnumerable<MappedFile> OpenFiles()
    {
        foreach (MappedFile? f in _files)
        {
            if (f is not null)
            {
                yield return f;
            }
        }
    }
}
