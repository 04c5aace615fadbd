using System.Globalization;
using System.Text;

namespace Mapwright.Mm;

/// <summary>/proc/PID/maps.</summary>
public sealed partial class AddressSpace
{
    /// <summary>
    /// The text of /proc/PID/maps, byte for byte as Linux prints it.
    /// Linux: fs/proc/task_mmu.c show_map_vma(), show_vma_header_prefix(), get_vma_name().
    /// </summary>
    public string FormatMaps()
    {
        var sb = new StringBuilder(Tree.Count * 80);
        for (Vma? v = Tree.First; v is not null; v = v.NextVma)
        {
            AppendMapsLine(sb, v);
        }

        foreach (string line in _gateLines)
        {
            sb.Append(line).Append('\n');
        }

        return sb.ToString();
    }

    private void AppendMapsLine(StringBuilder sb, Vma vma)
    {
        int lineStart = sb.Length;
        VmFlags f = vma.Flags;
        ulong pgoff = 0;
        uint major = 0, minor = 0;
        ulong ino = 0;
        string? name = null;
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
        else if (vma.Start < Brk && vma.End > StartBrk)
        {
            // vma_is_initial_heap()
            name = "[heap]";
        }
        else if (vma.Start <= StartStack && vma.End >= StartStack)
        {
            // vma_is_initial_stack()
            name = "[stack]";
        }

        sb.Append(vma.Start.ToString("x8", CultureInfo.InvariantCulture)).Append('-')
          .Append(vma.End.ToString("x8", CultureInfo.InvariantCulture)).Append(' ')
          .Append((f & VmFlags.Read) != 0 ? 'r' : '-')
          .Append((f & VmFlags.Write) != 0 ? 'w' : '-')
          .Append((f & VmFlags.Exec) != 0 ? 'x' : '-')
          .Append((f & VmFlags.MayShare) != 0 ? 's' : 'p').Append(' ')
          .Append(pgoff.ToString("x8", CultureInfo.InvariantCulture)).Append(' ')
          .Append(major.ToString("x2", CultureInfo.InvariantCulture)).Append(':')
          .Append(minor.ToString("x2", CultureInfo.InvariantCulture)).Append(' ')
          .Append(ino.ToString(CultureInfo.InvariantCulture)).Append(' ');
        if (name is not null)
        {
            // seq_pad(): pad to column 72 (25 + 6 * sizeof(void *) - 1), then one space.
            int width = sb.Length - lineStart;
            if (width < 72)
            {
                sb.Append(' ', 72 - width);
            }

            sb.Append(' ').Append(name);
        }

        sb.Append('\n');
    }
}
