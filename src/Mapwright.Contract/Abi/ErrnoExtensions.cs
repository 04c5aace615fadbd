namespace Mapwright.Abi;

/// <summary>strace's spelling of errno values.</summary>
public static class ErrnoExtensions
{
    /// <summary>The text strace prints in parentheses after the errno name (glibc's strerror).</summary>
    public static string Message(this Errno errno) => errno switch
    {
        Errno.None => "Success",
        Errno.EPERM => "Operation not permitted",
        Errno.ENOENT => "No such file or directory",
        Errno.ESRCH => "No such process",
        Errno.EINTR => "Interrupted system call",
        Errno.EIO => "Input/output error",
        Errno.ENXIO => "No such device or address",
        Errno.E2BIG => "Argument list too long",
        Errno.ENOEXEC => "Exec format error",
        Errno.EBADF => "Bad file descriptor",
        Errno.ECHILD => "No child processes",
        Errno.EAGAIN => "Resource temporarily unavailable",
        Errno.ENOMEM => "Cannot allocate memory",
        Errno.EACCES => "Permission denied",
        Errno.EFAULT => "Bad address",
        Errno.ENOTBLK => "Block device required",
        Errno.EBUSY => "Device or resource busy",
        Errno.EEXIST => "File exists",
        Errno.EXDEV => "Invalid cross-device link",
        Errno.ENODEV => "No such device",
        Errno.ENOTDIR => "Not a directory",
        Errno.EISDIR => "Is a directory",
        Errno.EINVAL => "Invalid argument",
        Errno.ENFILE => "Too many open files in system",
        Errno.EMFILE => "Too many open files",
        Errno.ENOTTY => "Inappropriate ioctl for device",
        Errno.ETXTBSY => "Text file busy",
        Errno.EFBIG => "File too large",
        Errno.ENOSPC => "No space left on device",
        Errno.ESPIPE => "Illegal seek",
        Errno.EROFS => "Read-only file system",
        Errno.EMLINK => "Too many links",
        Errno.EPIPE => "Broken pipe",
        Errno.EDOM => "Numerical argument out of domain",
        Errno.ERANGE => "Numerical result out of range",
        Errno.EDEADLK => "Resource deadlock avoided",
        Errno.ENAMETOOLONG => "File name too long",
        Errno.ENOLCK => "No locks available",
        Errno.ENOSYS => "Function not implemented",
        Errno.ENOTEMPTY => "Directory not empty",
        Errno.ELOOP => "Too many levels of symbolic links",
        Errno.EOVERFLOW => "Value too large for defined data type",
        Errno.ELIBBAD => "Accessing a corrupted shared library",
        Errno.ENOTSOCK => "Socket operation on non-socket",
        Errno.EOPNOTSUPP => "Operation not supported",
        Errno.EADDRINUSE => "Address already in use",
        Errno.ETIMEDOUT => "Connection timed out",
        Errno.EHWPOISON => "Memory page has hardware error",
        _ => "Unknown error " + ((int)errno).ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Looks an errno up by its symbolic name (the trace boundary).</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out Errno errno)
    {
        if (name.StartsWith('E') && Enum.TryParse(name, ignoreCase: false, out errno) && errno != Errno.None)
        {
            return true;
        }

        errno = Errno.None;
        return false;
    }
}
