using System.Globalization;
using System.Text;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>/proc/PID/maps (this file) and /proc/PID/smaps with the memory lines of /proc/PID/status
/// (<c>TaskMmu.Smaps.cs</c>). Linux: fs/proc/task_mmu.c.</summary>
internal static partial class TaskMmu
{
    /// <summary>
    /// The text of /proc/PID/maps, byte for byte as Linux prints it.
    /// Linux: fs/proc/task_mmu.c show_map_vma(), show_vma_header_prefix(), get_vma_name().
    /// </summary>
    internal static string FormatMaps(AddressSpace mm)
    {
        var sb = new StringBuilder(mm.Tree.Count * 80);
        for (Vma? v = mm.Tree.First; v is not null; v = v.NextVma)
        {
            AppendMapsLine(mm, sb, v);
        }

        foreach (string line in mm.GateLineList)
        {
            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>
    /// What maps prints for <paramref name="vma"/>, as fields. Linux: fs/proc/task_mmu.c show_map_vma(),
    /// get_vma_name().
    /// </summary>
    internal static MapsEntry DescribeMapsLine(AddressSpace mm, Vma vma)
    {
        ArgumentNullException.ThrowIfNull(vma);
        VmFlags f = vma.Flags;
        ulong pgoff = 0;
        uint major = 0, minor = 0;
        ulong ino = 0;
        string name = string.Empty;
        if (vma.File is { } file)
        {
            pgoff = vma.PgOff << Abi.PageConstants.PageShift;
            major = file.DevMajor;
            minor = file.DevMinor;
            ino = file.Ino;
            name = file.Inode.Unlinked && !file.Path.EndsWith(" (deleted)", StringComparison.Ordinal) ? file.Path + " (deleted)" : file.Path;
        }
        else if (vma.VmOps?.Name is { } special)
        {
            name = special;
        }
        else if (vma.Start < mm.Brk && vma.End > mm.StartBrk)
        {
            // vma_is_initial_heap()
            name = "[heap]";
        }
        else if (vma.Start <= mm.StartStack && vma.End >= mm.StartStack)
        {
            // vma_is_initial_stack()
            name = "[stack]";
        }

        return new MapsEntry(vma.Start, vma.End, PermsOf(f), pgoff, major, minor, ino, name, vma.File, f);
    }

    private static string PermsOf(VmFlags f)
    {
        // The 16 strings, so that describing a line allocates nothing for them.
        int i = ((f & VmFlags.Read) != 0 ? 8 : 0) | ((f & VmFlags.Write) != 0 ? 4 : 0) | ((f & VmFlags.Exec) != 0 ? 2 : 0)
            | ((f & VmFlags.MayShare) != 0 ? 1 : 0);
        return s_perms[i];
    }

    private static readonly string[] s_perms =
    [
        "---p", "---s", "--xp", "--xs", "-w-p", "-w-s", "-wxp", "-wxs",
        "r--p", "r--s", "r-xp", "r-xs", "rw-p", "rw-s", "rwxp", "rwxs",
    ];

    private static void AppendMapsLine(AddressSpace mm, StringBuilder sb, Vma vma)
    {
        int lineStart = sb.Length;
        MapsEntry e = DescribeMapsLine(mm, vma);
        sb.Append(e.Start.ToString("x8", CultureInfo.InvariantCulture)).Append('-')
          .Append(e.End.ToString("x8", CultureInfo.InvariantCulture)).Append(' ')
          .Append(e.Perms).Append(' ')
          .Append(e.Offset.ToString("x8", CultureInfo.InvariantCulture)).Append(' ')
          .Append(e.DevMajor.ToString("x2", CultureInfo.InvariantCulture)).Append(':')
          .Append(e.DevMinor.ToString("x2", CultureInfo.InvariantCulture)).Append(' ')
          .Append(e.Inode.ToString(CultureInfo.InvariantCulture)).Append(' ');
        if (e.Name.Length != 0)
        {
            // seq_pad(): pad to column 72 (25 + 6 * sizeof(void *) - 1), then one space.
            int width = sb.Length - lineStart;
            if (width < 72)
            {
                sb.Append(' ', 72 - width);
            }

            sb.Append(' ').Append(e.Name);
        }

        sb.Append('\n');
    }
}
