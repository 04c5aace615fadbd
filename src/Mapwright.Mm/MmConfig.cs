using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// Process and system settings an address space obeys: resource limits, sysctls, capabilities.
/// Defaults are an ordinary (unprivileged) process on a default x86-64 system.
/// </summary>
public sealed record MmConfig
{
    /// <summary>Linux's RLIM_INFINITY.</summary>
    public const ulong Unlimited = ulong.MaxValue;

    /// <summary>vm.mmap_min_addr, the DAC limit below which mapping needs CAP_SYS_RAWIO (Kconfig default 4096).
    /// Linux: security/min_addr.c dac_mmap_min_addr.</summary>
    public ulong MmapMinAddr { get; init; } = 4096;

    /// <summary>CONFIG_LSM_MMAP_MIN_ADDR (x86 default 65536). Hints are rounded up to, and searches start at,
    /// max(vm.mmap_min_addr, this). Linux: security/min_addr.c update_mmap_min_addr().</summary>
    public ulong LsmMmapMinAddr { get; init; } = 65536;

    /// <summary>The effective mmap_min_addr. Linux: mmap_min_addr.</summary>
    public ulong EffectiveMmapMinAddr => Math.Max(MmapMinAddr, LsmMmapMinAddr);

    /// <summary>vm.max_map_count. Linux: DEFAULT_MAX_MAP_COUNT = 65530.</summary>
    public int MaxMapCount { get; init; } = 65530;

    /// <summary>vm.overcommit_memory: 0 heuristic, 1 always, 2 never.</summary>
    public int OvercommitMode { get; init; }

    /// <summary>vm.overcommit_ratio (percent), used in mode 2.</summary>
    public ulong OvercommitRatio { get; init; } = 50;

    /// <summary>totalram_pages() + total_swap_pages: the heuristic overcommit bound for one request.</summary>
    public ulong TotalRamPages { get; init; } = (16UL << 30) >> PageConstants.PageShift;

    public ulong TotalSwapPages { get; init; }

    public ulong RlimitStack { get; init; } = 8UL << 20;

    public ulong RlimitMemlock { get; init; } = 8UL << 20;

    public ulong RlimitAs { get; init; } = Unlimited;

    public ulong RlimitData { get; init; } = Unlimited;

    /// <summary>CAP_IPC_LOCK: mlock without RLIMIT_MEMLOCK.</summary>
    public bool CapIpcLock { get; init; }

    /// <summary>CAP_SYS_RAWIO: mappings below mmap_min_addr.</summary>
    public bool CapSysRawio { get; init; }

    /// <summary>Hugetlb pages available for anonymous MAP_HUGETLB (vm.nr_hugepages); 0 on a default system.</summary>
    public ulong HugePages { get; init; }

    /// <summary>CONFIG_KSM: MADV_MERGEABLE and MADV_UNMERGEABLE are valid advice.</summary>
    public bool KsmEnabled { get; init; } = true;

    /// <summary>CONFIG_TRANSPARENT_HUGEPAGE: MADV_HUGEPAGE, NOHUGEPAGE and COLLAPSE are valid advice.</summary>
    public bool ThpEnabled { get; init; } = true;

    /// <summary>/sys/kernel/mm/transparent_hugepage/enabled: which anonymous VMAs may get huge pages (smaps
    /// THPeligible). The reference host runs "madvise".</summary>
    public ThpMode ThpMode { get; init; } = ThpMode.Madvise;

    /// <summary>The CPU and kernel support protection keys (x86 "ospke"): smaps prints ProtectionKey.</summary>
    public bool ProtectionKeys { get; init; } = true;

    /// <summary>Read faults on private anonymous memory map the shared zero page. Some kernel builds forbid it
    /// (a VM host's <c>pvm_no_zero_page</c>, s390's <c>mm_forbids_zeropage()</c>): a read fault then allocates a
    /// zeroed anonymous page, gives the VMA its anon_vma (which changes later merges) and dirties the entry of a
    /// writable VMA. Linux: mm/memory.c do_anonymous_page().</summary>
    public bool ZeroPage { get; init; } = true;

    /// <summary>CONFIG_MEMORY_FAILURE: MADV_HWPOISON and MADV_SOFT_OFFLINE are valid advice (then EPERM without
    /// CAP_SYS_ADMIN).</summary>
    public bool MemoryFailureEnabled { get; init; } = true;

    /// <summary>The settings of the machine this runs on, where it is Linux: mmap_min_addr, max_map_count,
    /// overcommit, RAM and swap. Limits stay an ordinary process's defaults.</summary>
    public static MmConfig FromHost()
    {
        var config = new MmConfig();
        if (!OperatingSystem.IsLinux())
        {
            return config;
        }

        return config with
        {
            MmapMinAddr = ReadULong("/proc/sys/vm/mmap_min_addr") ?? config.MmapMinAddr,
            MaxMapCount = (int)(ReadULong("/proc/sys/vm/max_map_count") ?? (ulong)config.MaxMapCount),
            OvercommitMode = (int)(ReadULong("/proc/sys/vm/overcommit_memory") ?? 0),
            OvercommitRatio = ReadULong("/proc/sys/vm/overcommit_ratio") ?? 50,
            TotalRamPages = ReadMeminfoPages("MemTotal:") ?? config.TotalRamPages,
            TotalSwapPages = ReadMeminfoPages("SwapTotal:") ?? 0,
            HugePages = ReadULong("/proc/sys/vm/nr_hugepages") ?? 0,
            KsmEnabled = Directory.Exists("/sys/kernel/mm/ksm"),
            ThpEnabled = Directory.Exists("/sys/kernel/mm/transparent_hugepage"),
            ThpMode = ReadThpMode(),
            ProtectionKeys = HostHasProtectionKeys(),
            MemoryFailureEnabled = File.Exists("/proc/sys/vm/memory_failure_early_kill"),
            ZeroPage = HostZeroPageProbe.ReadFaultMapsZeroPage() ?? true,
        };
    }

    private static ulong? ReadULong(string path)
    {
        try
        {
            string text = File.ReadAllText(path).Trim();
            return ulong.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ulong v) ? v : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static ulong? ReadMeminfoPages(string key)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (parts.Length >= 2 && ulong.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out ulong kb))
                    {
                        return kb / 4;
                    }
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled.</summary>
    private static ThpMode ReadThpMode()
    {
        try
        {
            string text = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            return text.Contains("[always]", StringComparison.Ordinal) ? ThpMode.Always
                : text.Contains("[madvise]", StringComparison.Ordinal) ? ThpMode.Madvise
                : ThpMode.Never;
        }
        catch (IOException)
        {
            return ThpMode.Never;
        }
        catch (UnauthorizedAccessException)
        {
            return ThpMode.Never;
        }
    }

    private static bool HostHasProtectionKeys()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    return (" " + line + " ").Contains(" ospke ", StringComparison.Ordinal);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }
}
