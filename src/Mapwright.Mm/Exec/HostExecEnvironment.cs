using System.Globalization;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// What the running kernel puts into every new address space beside the program, read once from this process's
/// own /proc/self files (the same kernel built them at this process's exec): the vDSO block (its mappings, sizes
/// and flags), the [vsyscall] line, and the auxiliary vector's entry types (their count sizes the initial stack).
/// Off Linux, or where the files cannot be read, the values of Linux 6.18 on x86-64 are used.
/// Linux: arch/x86/entry/vdso/vma.c map_vdso(), arch/x86/entry/vsyscall, fs/binfmt_elf.c create_elf_tables().
/// </summary>
public sealed class HostExecEnvironment
{
    private static readonly Lazy<HostExecEnvironment> s_host = new(Probe);

    private HostExecEnvironment(IReadOnlyList<SpecialMapping> vdsoBlock, string? vsyscallLine, IReadOnlyList<(ulong Type, ulong Value)> auxv, string platform)
    {
        VdsoBlock = vdsoBlock;
        VsyscallLine = vsyscallLine;
        Auxv = auxv;
        Platform = platform;
        ulong len = 0;
        foreach (SpecialMapping m in vdsoBlock)
        {
            len = Math.Max(len, m.Offset + m.Length);
        }

        VdsoBlockLength = len;
    }

    /// <summary>The host's answers, probed once per process.</summary>
    public static HostExecEnvironment Host => s_host.Value;

    /// <summary>Linux 6.18 x86-64 defaults: [vvar] 4 pages, [vvar_vclock] 2, [vdso] 2.</summary>
    public static HostExecEnvironment Default { get; } = new(
        [
            new SpecialMapping("[vvar]", 0, 0x4000, VmFlags.Read | VmFlags.MayRead | VmFlags.PfnMap | VmFlags.Io | VmFlags.DontExpand | VmFlags.DontDump),
            new SpecialMapping("[vvar_vclock]", 0x4000, 0x2000, VmFlags.Read | VmFlags.MayRead | VmFlags.PfnMap | VmFlags.Io | VmFlags.DontExpand | VmFlags.DontDump),
            new SpecialMapping("[vdso]", 0x6000, 0x2000, VmFlags.Read | VmFlags.Exec | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec | VmFlags.DontExpand),
        ],
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
        [(33, 0), (51, 0xd30), (16, 0x178bfbff), (6, 0x1000), (17, 100), (3, 0), (4, 0), (5, 0), (7, 0), (8, 0), (9, 0), (11, 0), (12, 0), (13, 0), (14, 0), (23, 0), (25, 0), (26, 0), (31, 0), (15, 0), (27, 0x1c), (28, 0x20)],
        "x86_64");

    /// <summary>The vDSO block's mappings in address order, offsets from the block's start.</summary>
    public IReadOnlyList<SpecialMapping> VdsoBlock { get; }

    /// <summary>The length of the vDSO block (placed with one get_unmapped_area()).</summary>
    public ulong VdsoBlockLength { get; }

    /// <summary>The [vsyscall] line of maps, or null where the kernel has none (vsyscall=none).</summary>
    public string? VsyscallLine { get; }

    /// <summary>The auxiliary vector's entries in the kernel's order, without AT_NULL, with this process's values
    /// (the per-exec ones are recomputed).</summary>
    public IReadOnlyList<(ulong Type, ulong Value)> Auxv { get; }

    /// <summary>AT_PLATFORM's string. Linux: arch/x86/include/asm/elf.h ELF_PLATFORM (utsname()->machine).</summary>
    public string Platform { get; }

    /// <summary>The [vdso] mapping's offset in the block (AT_SYSINFO_EHDR is its start).</summary>
    public ulong VdsoTextOffset
    {
        get
        {
            foreach (SpecialMapping m in VdsoBlock)
            {
                if (m.Name == "[vdso]")
                {
                    return m.Offset;
                }
            }

            return 0;
        }
    }

    private static HostExecEnvironment Probe()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return Default;
        }

        try
        {
            List<SpecialMapping>? block = ReadVdsoBlock(out string? vsyscall);
            List<(ulong, ulong)>? auxv = ReadAuxv();
            if (block is null || block.Count == 0 || auxv is null)
            {
                return Default;
            }

            return new HostExecEnvironment(block, vsyscall, auxv, "x86_64");
        }
        catch (IOException)
        {
            return Default;
        }
        catch (UnauthorizedAccessException)
        {
            return Default;
        }
    }

    /// <summary>The contiguous run of [vvar], [vvar_vclock] and [vdso] in /proc/self/smaps, with their flags.</summary>
    private static List<SpecialMapping>? ReadVdsoBlock(out string? vsyscall)
    {
        vsyscall = null;
        var found = new List<(string Name, ulong Start, ulong End, VmFlags Flags)>();
        string? current = null;
        ulong start = 0, end = 0;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (IsMapsLine(line, out ulong s, out ulong e, out string name))
            {
                current = name is "[vvar]" or "[vvar_vclock]" or "[vdso]" ? name : null;
                start = s;
                end = e;
                if (name == "[vsyscall]")
                {
                    vsyscall = line;
                }

                continue;
            }

            if (current is not null && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                found.Add((current, start, end, ParseVmFlags(line.AsSpan(8))));
                current = null;
            }
        }

        if (found.Count == 0)
        {
            return null;
        }

        found.Sort((a, b) => a.Start.CompareTo(b.Start));
        ulong blockStart = found[0].Start;
        var result = new List<SpecialMapping>();
        ulong expected = blockStart;
        foreach ((string name, ulong s, ulong e, VmFlags flags) in found)
        {
            if (s != expected)
            {
                // Not one block (a later mremap of the vdso): keep what is contiguous with the first.
                break;
            }

            result.Add(new SpecialMapping(name, s - blockStart, e - s, flags));
            expected = e;
        }

        return result;
    }

    private static bool IsMapsLine(string line, out ulong start, out ulong end, out string name)
    {
        start = end = 0;
        name = string.Empty;
        int dash = line.IndexOf('-', StringComparison.Ordinal);
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        if (dash <= 0 || space <= dash
            || !ulong.TryParse(line.AsSpan(0, dash), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out start)
            || !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out end))
        {
            return false;
        }

        string[] parts = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        name = parts.Length > 5 ? parts[5].Trim() : string.Empty;
        return true;
    }

    /// <summary>smaps' two-letter flag names. Linux: fs/proc/task_mmu.c show_smap_vma_flags().</summary>
    internal static VmFlags ParseVmFlags(ReadOnlySpan<char> text)
    {
        VmFlags flags = VmFlags.None;
        foreach (Range r in text.Split(' '))
        {
            flags |= text[r].Trim() switch
            {
                "rd" => VmFlags.Read,
                "wr" => VmFlags.Write,
                "ex" => VmFlags.Exec,
                "sh" => VmFlags.Shared,
                "mr" => VmFlags.MayRead,
                "mw" => VmFlags.MayWrite,
                "me" => VmFlags.MayExec,
                "ms" => VmFlags.MayShare,
                "gd" => VmFlags.GrowsDown,
                "pf" => VmFlags.PfnMap,
                "lo" => VmFlags.Locked,
                "io" => VmFlags.Io,
                "sr" => VmFlags.SeqRead,
                "rr" => VmFlags.RandRead,
                "dc" => VmFlags.DontCopy,
                "de" => VmFlags.DontExpand,
                "lf" => VmFlags.LockOnFault,
                "ac" => VmFlags.Account,
                "nr" => VmFlags.NoReserve,
                "ht" => VmFlags.HugeTlb,
                "sf" => VmFlags.Sync,
                "wf" => VmFlags.WipeOnFork,
                "dd" => VmFlags.DontDump,
                "sd" => VmFlags.SoftDirty,
                "mm" => VmFlags.MixedMap,
                "hg" => VmFlags.HugePage,
                "nh" => VmFlags.NoHugePage,
                "mg" => VmFlags.Mergeable,
                "ss" => VmFlags.ShadowStack,
                "sl" => VmFlags.Sealed,
                _ => VmFlags.None,
            };
        }

        return flags;
    }

    /// <summary>/proc/self/auxv: (type, value) pairs up to AT_NULL.</summary>
    private static List<(ulong, ulong)>? ReadAuxv()
    {
        byte[] bytes = File.ReadAllBytes("/proc/self/auxv");
        var result = new List<(ulong, ulong)>();
        for (int i = 0; i + 16 <= bytes.Length; i += 16)
        {
            ulong type = BitConverter.ToUInt64(bytes, i);
            if (type == 0)
            {
                return result;
            }

            // AT_EXECFD belongs to binfmt_misc's open-binary mode, not to an ordinary ELF exec.
            if (type != 2)
            {
                result.Add((type, BitConverter.ToUInt64(bytes, i + 8)));
            }
        }

        return result.Count == 0 ? null : result;
    }
}
