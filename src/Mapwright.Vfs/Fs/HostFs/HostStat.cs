using System.Runtime.InteropServices;

namespace Mapwright.Vfs.Fs.HostFs;

/// <summary>stat(2) of a host path: the device and inode numbers maps shows for host files and devices.
/// Linux x86-64 struct stat: st_dev at 0, st_ino at 8, st_mode at 24, st_size at 48.</summary>
internal static partial class HostStat
{
    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Stat(string path, [Out] byte[] buf);

    [LibraryImport("libc", EntryPoint = "lstat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Lstat(string path, [Out] byte[] buf);

    public static bool TryStat(string path, out uint major, out uint minor, out ulong ino, out ulong size) =>
        TryStat(path, out major, out minor, out ino, out size, out _);

    /// <summary>As above, with st_mode (S_IFMT bits: 0x8000 regular, 0x4000 directory, 0x2000 character device).</summary>
    public static bool TryStat(string path, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode) =>
        TryStat(path, follow: true, out major, out minor, out ino, out size, out mode);

    /// <summary>As <see cref="TryStat(string, out uint, out uint, out ulong, out ulong, out uint)"/> without following
    /// a final symbolic link.</summary>
    public static bool TryLstat(string path, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode) =>
        TryStat(path, follow: false, out major, out minor, out ino, out size, out mode);

    private static bool TryStat(string path, bool follow, out uint major, out uint minor, out ulong ino, out ulong size, out uint mode)
    {
        major = minor = 0;
        ino = size = 0;
        mode = 0;
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return false;
        }

        byte[] buf = new byte[256];
        try
        {
            if ((follow ? Stat(path, buf) : Lstat(path, buf)) != 0)
            {
                return false;
            }
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }

        ulong dev = BitConverter.ToUInt64(buf, 0);

        // new_decode_dev(): glibc's gnu_dev_major/minor.
        major = (uint)(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfffUL));
        minor = (uint)((dev & 0xff) | ((dev >> 12) & ~0xffUL));
        ino = BitConverter.ToUInt64(buf, 8);
        mode = BitConverter.ToUInt32(buf, 24);
        size = BitConverter.ToUInt64(buf, 48);
        return true;
    }
}
