using System.Globalization;
using System.Text;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;

namespace Mapwright.Tests.Harness;

/// <summary>Compact renderings of an address space's VMAs for assertions.</summary>
internal static class Layout
{
    /// <summary>Every VMA as <c>[0x0-0x3000 rw-p pgoff=0x0]</c>, space-separated, in address order.</summary>
    public static string Render(AddressSpace mm)
    {
        var sb = new StringBuilder();
        foreach (Vma v in mm.Vmas)
        {
            if (sb.Length != 0)
            {
                sb.Append(' ');
            }

            sb.Append(Render(v));
        }

        return sb.ToString();
    }

    /// <summary>One VMA as <c>[0x0-0x3000 rw-p pgoff=0x0]</c>.</summary>
    public static string Render(Vma v) => string.Create(CultureInfo.InvariantCulture,
        $"[0x{v.Start:x}-0x{v.End:x} {Prot(v.Flags)} pgoff=0x{v.PgOff:x}]");

    /// <summary>Only the ranges: <c>0x0-0x3000 0x5000-0x9000</c>.</summary>
    public static string Ranges(AddressSpace mm)
    {
        var sb = new StringBuilder();
        foreach (Vma v in mm.Vmas)
        {
            if (sb.Length != 0)
            {
                sb.Append(' ');
            }

            sb.Append(CultureInfo.InvariantCulture, $"0x{v.Start:x}-0x{v.End:x}");
        }

        return sb.ToString();
    }

    /// <summary>
    /// The tools/testing/vma picture of the first <paramref name="pages"/> pages: one character per page, a space
    /// for a hole, and for a mapped page the letter of its VMA (A for the lowest, B for the next, ...).
    /// </summary>
    public static string Picture(AddressSpace mm, int pages, ulong origin = 0)
    {
        var sb = new StringBuilder(pages);
        for (int i = 0; i < pages; i++)
        {
            ulong addr = origin + ((ulong)i << PageConstants.PageShift);
            int index = 0;
            char c = ' ';
            foreach (Vma v in mm.Vmas)
            {
                if (v.Start <= addr && addr < v.End)
                {
                    c = (char)('A' + index);
                    break;
                }

                index++;
            }

            sb.Append(c);
        }

        return sb.ToString().TrimEnd();
    }

    /// <summary>The maps permission column: r, w, x and p or s.</summary>
    public static string Prot(VmFlags f) => string.Concat(
        (f & VmFlags.Read) != 0 ? "r" : "-",
        (f & VmFlags.Write) != 0 ? "w" : "-",
        (f & VmFlags.Exec) != 0 ? "x" : "-",
        (f & VmFlags.MayShare) != 0 ? "s" : "p");
}
