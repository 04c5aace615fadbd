using Mapwright.Abi;

namespace Mapwright.Vfs;

/// <summary>A process's file descriptors, numbered as Linux numbers them: the lowest free one.
/// Linux: fs/file.c alloc_fd().</summary>
public sealed class FdTable
{
    private readonly List<MappedFile?> _files = [];

    /// <summary>The descriptors below this one are taken by the process before the trace (0, 1, 2).</summary>
    public FdTable(int reserved = 3)
    {
        for (int i = 0; i < reserved; i++)
        {
            _files.Add(null);
        }

        Reserved = reserved;
    }

    public int Reserved { get; }

    /// <summary>Installs a file at the lowest free descriptor at or above <see cref="Reserved"/>.</summary>
    public int Install(MappedFile file)
    {
        for (int i = Reserved; i < _files.Count; i++)
        {
            if (_files[i] is null)
            {
                _files[i] = file;
                return i;
            }
        }

        _files.Add(file);
        return _files.Count - 1;
    }

    public MappedFile? Get(ulong fd) => fd < (ulong)_files.Count ? _files[(int)fd] : null;

    public Errno Close(ulong fd)
    {
        if (Get(fd) is null)
        {
            return Errno.EBADF;
        }

        _files[(int)fd] = null;
        return Errno.None;
    }
}
