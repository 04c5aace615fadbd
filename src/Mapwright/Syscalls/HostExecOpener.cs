using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm.Exec;
using Mapwright.Vfs;
using Mapwright.Vfs.Fs.HostFs;

namespace Mapwright.Syscalls;

/// <summary>
/// Opens host files for execution through a process's host file system (so that the page cache is the one its
/// later opens and mappings see). The open file is named by its resolved path, as the kernel's maps name it.
/// Linux: fs/exec.c do_open_execat(), fs/namei.c may_open().
/// </summary>
internal sealed class HostExecOpener(HostFiles host, string cwd) : IExecFileOpener
{
    private const uint SIfMt = 0xf000, SIfReg = 0x8000;
    private const int PathMax = 4096;

    public Errno OpenExec(string path, out ExecFile? file)
    {
        file = null;
        if (path.Length == 0)
        {
            return Errno.ENOENT;
        }

        if (System.Text.Encoding.UTF8.GetByteCount(path) >= PathMax)
        {
            return Errno.ENAMETOOLONG;
        }

        // A relative name starts from the process's working directory, not mapwright's.
        Errno err = HostPaths.RealPath(path.StartsWith('/') ? path : cwd.TrimEnd('/') + "/" + path, out string resolved);
        if (err != Errno.None)
        {
            return err;
        }

        // Directories, devices, FIFOs and sockets: EACCES (may_open() with MAY_EXEC); so is a file this process
        // may not execute.
        if (!HostStat.TryStat(resolved, out _, out _, out _, out _, out uint mode) || (mode & SIfMt) != SIfReg
            || !HostPaths.CanExecute(resolved))
        {
            return Errno.EACCES;
        }

        err = host.Open(resolved, 0, out MappedFile? opened);
        if (err != Errno.None)
        {
            return err;
        }

        const uint sIsuid = 0x800, sIsgid = 0x400, sIxgrp = 0x8;
        file = new ExecFile(opened!, (offset, buf) => ReadHost(resolved, offset, buf))
        {
            SetId = (mode & sIsuid) != 0 || (mode & (sIsgid | sIxgrp)) == (sIsgid | sIxgrp),
        };
        return Errno.None;
    }

    private static int ReadHost(string path, ulong offset, byte[] buf)
    {
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            int done = 0;
            while (done < buf.Length)
            {
                int n = RandomAccess.Read(handle, buf.AsSpan(done), (long)offset + done);
                if (n <= 0)
                {
                    break;
                }

                done += n;
            }

            return done;
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
