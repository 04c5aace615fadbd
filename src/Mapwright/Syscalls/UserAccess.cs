using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Vfs;

namespace Mapwright.Syscalls;

/// <summary>The access pseudo-calls of the trace language: peek, poke, fpeek (trace-format.md).</summary>
public sealed partial class MmSyscalls
{
    /// <summary>Reads LEN bytes at ADDR as the process would; the hash (FNV-1a 64) covers the bytes read
    /// before any fault.</summary>
    public Signal Peek(ulong addr, ulong len, out ulong hash)
    {
        Signal s = Mm.Peek(addr, len, out hash);
        Mm.CheckInvariants();
        return s;
    }

    /// <summary>Reads user memory as the process would: see <see cref="Mapwright.Mm.AddressSpace.Read"/>.</summary>
    public Signal ReadMemory(ulong addr, Span<byte> destination, out int done)
    {
        Signal s = Mm.Read(addr, destination, out done);
        Mm.CheckInvariants();
        return s;
    }

    /// <summary>Writes user memory as the process would: see <see cref="Mapwright.Mm.AddressSpace.Write"/>.</summary>
    public Signal WriteMemory(ulong addr, ReadOnlySpan<byte> source, out int done)
    {
        Signal s = Mm.Write(addr, source, out done);
        Mm.CheckInvariants();
        return s;
    }

    /// <summary>Writes LEN copies of VALUE at ADDR as the process would.</summary>
    public Signal Poke(ulong addr, ulong len, byte value)
    {
        Signal s = Mm.Poke(addr, len, value);
        Mm.CheckInvariants();
        return s;
    }

    /// <summary>
    /// Reads LEN bytes of the file behind FD from OFFSET, like repeated pread calls, and hashes the bytes read
    /// (a read wholly past the end hashes as empty). Errors of the first read are the result.
    /// Linux: fs/read_write.c ksys_pread64() → filemap_read() / shmem_file_read_iter().
    /// </summary>
    public SysResult Fpeek(ulong fd, ulong offset, ulong len, out ulong hash)
    {
        var fnv = new Fnv1a();
        hash = fnv.Value;
        MappedFile? file = Files.Get(fd);
        if (file is null || !file.CanRead)
        {
            return SysResult.Fail(Errno.EBADF);
        }

        if ((long)offset < 0)
        {
            return SysResult.Fail(Errno.EINVAL);
        }

        if (file.Operations == Vfs.Fs.HostFs.HostFiles.DirectoryFop && file.Inode.Size == 0 && !file.Inode.IsDevice)
        {
            return SysResult.Fail(Errno.EISDIR);
        }

        if (file.Path == "/dev/null")
        {
            return SysResult.Ok(0);
        }

        ulong read = Mm.ReadFile(file, offset, len, ref fnv);
        hash = fnv.Value;
        return SysResult.Ok(read);
    }
}
