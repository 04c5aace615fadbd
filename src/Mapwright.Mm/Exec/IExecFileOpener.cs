using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// Opens files for execution, as open_exec() does: path lookup (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG), then
/// MAY_EXEC on a regular file (EACCES for a directory, a device, a file without execute permission or on a
/// noexec mount). Linux: fs/exec.c do_open_execat(), fs/namei.c may_open().
/// </summary>
public interface IExecFileOpener
{
    /// <summary>Opens <paramref name="path"/> (relative paths against the working directory) for execution.</summary>
    Errno OpenExec(string path, out ExecFile? file);
}
