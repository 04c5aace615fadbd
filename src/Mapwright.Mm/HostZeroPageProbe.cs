using System.Globalization;
using System.Runtime.InteropServices;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// Asks the host kernel whether an anonymous read fault maps the zero page: maps one private anonymous page,
/// reads it, and sees whether the resident size of its VMA grew (the zero page is not counted in smaps Rss, a
/// page of its own is). Linux: mm/memory.c do_anonymous_page(), fs/proc/task_mmu.c smaps_pte_entry().
/// </summary>
internal static partial class HostZeroPageProbe
{
    private const int ProtRead = 1;
    private const int MapPrivateAnonymous = 0x02 | 0x20;

    private static readonly Lazy<bool?> s_answer = new(Probe);

    /// <summary>true: the zero page; false: a page of its own; null: the host cannot tell (not Linux, no smaps).
    /// Asked once per process: the answer is a property of the running kernel.</summary>
    public static bool? ReadFaultMapsZeroPage() => s_answer.Value;

    private static unsafe bool? Probe()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64)
        {
            return null;
        }

        try
        {
            nint page = Mmap(0, 4096, ProtRead, MapPrivateAnonymous, -1, 0);
            if (page == -1)
            {
                return null;
            }

            try
            {
                ulong? before = RssKb((ulong)page);
                _ = Volatile.Read(ref *(byte*)page);
                ulong? after = RssKb((ulong)page);
                return before is null || after is null ? null : after == before;
            }
            finally
            {
                _ = Munmap(page, 4096);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The Rss of the VMA of /proc/self/smaps that holds <paramref name="addr"/>.</summary>
    private static ulong? RssKb(ulong addr)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash
                && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong end))
            {
                inside = start <= addr && addr < end;
                continue;
            }

            if (inside && line.StartsWith("Rss:", StringComparison.Ordinal))
            {
                return ulong.Parse(line.AsSpan(4).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    private static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, nint offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    private static partial int Munmap(nint addr, nuint length);
}
