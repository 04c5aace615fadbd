using Mapwright.Contract;
using Mapwright.Mm;

namespace Mapwright.Trace.Report;

/// <summary>One maps line as the report keeps it: what the page needs to draw and print it.</summary>
internal readonly record struct ReportVma(ulong Start, ulong End, byte Perms, VmaKind Kind, string Name, ulong Offset, uint DevMajor, uint DevMinor, ulong Inode)
{
    public static ReportVma From(MapsEntry e)
    {
        int perms = (e.Perms[0] == 'r' ? 8 : 0) | (e.Perms[1] == 'w' ? 4 : 0) | (e.Perms[2] == 'x' ? 2 : 0) | (e.Perms[3] == 's' ? 1 : 0);
        return new ReportVma(e.Start, e.End, (byte)perms, KindOf(e), e.Name, e.Offset, e.DevMajor, e.DevMinor, e.Inode);
    }

    /// <summary>A gate line (<c>[vsyscall]</c>), which is text only; null if it does not parse.</summary>
    public static ReportVma? FromMapsLine(string line)
    {
        string[] parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        string[] range = parts.Length >= 5 ? parts[0].Split('-') : [];
        if (range.Length != 2 || parts[1].Length != 4
            || !ulong.TryParse(range[0], System.Globalization.NumberStyles.HexNumber, null, out ulong start)
            || !ulong.TryParse(range[1], System.Globalization.NumberStyles.HexNumber, null, out ulong end))
        {
            return null;
        }

        string p = parts[1];
        int perms = (p[0] == 'r' ? 8 : 0) | (p[1] == 'w' ? 4 : 0) | (p[2] == 'x' ? 2 : 0) | (p[3] == 's' ? 1 : 0);
        string name = parts.Length > 5 ? parts[5].Trim() : string.Empty;
        return new ReportVma(start, end, (byte)perms, name.StartsWith('[') ? VmaKind.Special : VmaKind.Anon, name, 0, 0, 0, 0);
    }

    private static VmaKind KindOf(MapsEntry e)
    {
        switch (e.Name)
        {
            case "[heap]":
                return VmaKind.Heap;
            case "[stack]":
                return VmaKind.Stack;
            default:
                break;
        }

        if (e.File is { } file)
        {
            if ((e.Flags & (VmFlags.Io | VmFlags.PfnMap | VmFlags.MixedMap)) != 0 || file.Fop is not null && !file.IsShmem && file.Path.StartsWith("/dev/", StringComparison.Ordinal))
            {
                return VmaKind.Device;
            }

            return file.IsShmem ? VmaKind.Shmem : VmaKind.File;
        }

        return e.Name.StartsWith('[') ? VmaKind.Special : VmaKind.Anon;
    }
}
