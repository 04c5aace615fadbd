using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// A file opened for execution: the open file its mappings refer to (named by its resolved path, as d_path
/// prints it) and a way to read its bytes. Linux: the struct file open_exec() returns.
/// </summary>
public sealed class ExecFile
{
    private readonly Func<ulong, byte[], int> _read;

    /// <param name="file">The open file (read-only) the mappings refer to.</param>
    /// <param name="read">Reads into the buffer from an offset; returns the bytes read (fewer at the end of the
    /// file) or -1 on an I/O error.</param>
    public ExecFile(MappedFile file, Func<ulong, byte[], int> read)
    {
        File = file;
        _read = read;
    }

    /// <summary>Immutable after construction.</summary>
    public MappedFile File { get; }

    /// <summary>Set-user-ID, or set-group-ID with group execute: exec changes the credentials and clears
    /// ADDR_NO_RANDOMIZE. Linux: fs/exec.c bprm_fill_uid().</summary>
    public bool SetId { get; init; }

    /// <summary>Reads <paramref name="count"/> bytes at <paramref name="offset"/>; fewer at the end of the file,
    /// null on an I/O error. Linux: fs/read_write.c kernel_read().</summary>
    public byte[]? Read(ulong offset, int count)
    {
        byte[] buf = new byte[count];
        int n = _read(offset, buf);
        if (n < 0)
        {
            return null;
        }

        return n == count ? buf : buf[..n];
    }
}
