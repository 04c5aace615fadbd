using System.Runtime.InteropServices;
using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Vfs.Fs.HostFs;

/// <summary>Host path lookups the kernel does itself: the resolved name d_path() prints (symbolic links
/// followed), and the execute-permission check of exec. Linux: fs/d_path.c d_path(), fs/open.c do_faccessat().</summary>
internal static partial class HostPaths
{
    private const int XOk = 1;

    /// <summary>The canonical absolute path of an existing file, or its lookup errno (ENOENT, ENOTDIR, ELOOP,
    /// EACCES, ENAMETOOLONG).</summary>
    public static Errno RealPath(string path, out string resolved)
    {
        resolved = path;
        if (!OperatingSystem.IsLinux())
        {
            return File.Exists(path) || Directory.Exists(path) ? Errno.None : Errno.ENOENT;
        }

        try
        {
            nint p = RealPathNative(path, 0);
            if (p == 0)
            {
                return (Errno)Marshal.GetLastPInvokeError();
            }

            resolved = Marshal.PtrToStringUTF8(p) ?? path;
            Free(p);
            return Errno.None;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return File.Exists(path) || Directory.Exists(path) ? Errno.None : Errno.ENOENT;
        }
    }

    /// <summary>True if this process may execute the file (for a privileged process: any execute bit; false on a
    /// noexec mount). Linux: fs/open.c do_faccessat(X_OK).</summary>
    public static bool CanExecute(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        try
        {
            return Access(path, XOk) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true;
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint p);

    [LibraryImport("libc", EntryPoint = "access", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Access(string path, int mode);
}
