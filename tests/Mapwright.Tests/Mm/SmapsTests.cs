using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class SmapsTests
{
    private const ulong A = 0x100000000;

    [Fact]
    [Trait("Linux", "fs/proc/task_mmu.c show_smap(): fields, widths and VmFlags as Linux prints them")]
    public void SmapsEntryIsPrintedAsLinuxPrintsIt()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { KsmEnabled = true, ProtectionKeys = true });
        fx.Map(A, 4 * Page);
        fx.Sys.Poke(A, 2 * Page, 1);
        fx.Sys.Peek(A + (2 * Page), 1, out _);
        string expected =
            "100000000-100004000 rw-p 00000000 00:00 0 \n" +
            "Size:                 16 kB\n" +
            "KernelPageSize:        4 kB\n" +
            "MMUPageSize:           4 kB\n" +
            "Rss:                   8 kB\n" +
            "Pss:                   8 kB\n" +
            "Pss_Dirty:             8 kB\n" +
            "Shared_Clean:          0 kB\n" +
            "Shared_Dirty:          0 kB\n" +
            "Private_Clean:         0 kB\n" +
            "Private_Dirty:         8 kB\n" +
            "Referenced:            8 kB\n" +
            "Anonymous:             8 kB\n" +
            "KSM:                   0 kB\n" +
            "LazyFree:              0 kB\n" +
            "AnonHugePages:         0 kB\n" +
            "ShmemPmdMapped:        0 kB\n" +
            "FilePmdMapped:         0 kB\n" +
            "Shared_Hugetlb:        0 kB\n" +
            "Private_Hugetlb:       0 kB\n" +
            "Swap:                  0 kB\n" +
            "SwapPss:               0 kB\n" +
            "Locked:                0 kB\n" +
            "THPeligible:           0\n" +
            "ProtectionKey:         0\n" +
            "VmFlags: rd wr mr mw me ac \n";
        Assert.Equal(expected, fx.Mm.FormatSmaps());
    }

    [Fact]
    [Trait("Linux", "fs/proc/task_mmu.c smaps_account(): a page mapped by two processes is shared, half its size in each Pss")]
    public void PssIsDividedAfterFork()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page);
        fx.Sys.Poke(A, 2 * Page, 1);
        Assert.False(fx.Sys.Fork(out MmSyscalls? child).IsError);
        child!.Poke(A, 1, 2);
        VmaMemoryUsage u = fx.Mm.MemoryUsage(fx.Mm.FindVma(A)!);
        Assert.Equal(8192UL, u.Rss);
        Assert.Equal(4096UL + 2048UL, u.Pss);
        Assert.Equal(4096UL, u.SharedDirty);
        Assert.Equal(4096UL, u.PrivateDirty);
    }

    [Fact]
    [Trait("Linux", "fs/proc/task_mmu.c task_mem(): the Vm and Rss lines of /proc/PID/status")]
    public void StatusLines()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 4 * Page);
        fx.Sys.Poke(A, 3 * Page, 1);
        Assert.False(fx.Sys.Munmap(A + (3 * Page), Page).IsError);
        string status = fx.Mm.FormatStatus();
        Assert.Contains("VmPeak:\t      16 kB\n", status, StringComparison.Ordinal);
        Assert.Contains("VmSize:\t      12 kB\n", status, StringComparison.Ordinal);
        Assert.Contains("VmRSS:\t      12 kB\n", status, StringComparison.Ordinal);
        Assert.Contains("RssAnon:\t      12 kB\n", status, StringComparison.Ordinal);
        Assert.Contains("VmData:\t      12 kB\n", status, StringComparison.Ordinal);
        Assert.StartsWith("VmPeak:", status, StringComparison.Ordinal);
        Assert.EndsWith("VmSwap:\t       0 kB\n", status, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "mm/memory.c do_fault_around(): a read fault maps the cached neighbours of a file page")]
    public void ReadFaultMapsCachedNeighbours()
    {
        using var fx = new AddressSpaceFixture();
        ulong fd = fx.Sys.MemfdCreate("f", 0).Value;
        fx.Sys.Ftruncate(fd, 16 * Page);
        ulong a = fx.Sys.Mmap(0, 16 * Page, ProtRw, (ulong)MapFlags.Shared, fd, 0).Value;
        fx.Sys.Poke(a, 16 * Page, 1);
        // The window starts at the 64 KiB-aligned block of the fault or at the VMA's start, whichever is later,
        // and spans 16 pages (do_fault_around(): to_pte = from_pte + nr_pages, clamped to the VMA).
        ulong b = fx.Sys.Mmap(A, 16 * Page, ProtR, (ulong)(MapFlags.Shared | MapFlags.Fixed), fd, 0).Value;
        fx.Sys.Peek(b + (5 * Page), 1, out _);
        Assert.Equal(16UL * Page, fx.Mm.MemoryUsage(fx.Mm.FindVma(b)!).Rss);
        ulong c = fx.Sys.Mmap(A + (17 * Page), 16 * Page, ProtR, (ulong)(MapFlags.Shared | MapFlags.Fixed), fd, 0).Value;
        fx.Sys.Peek(c, 1, out _);
        Assert.Equal(16UL * Page, fx.Mm.MemoryUsage(fx.Mm.FindVma(c)!).Rss);
        // ...and stops at the end of the page table (512 entries, 2 MiB).
        ulong d = fx.Sys.Mmap(A + (504 * Page), 16 * Page, ProtR, (ulong)(MapFlags.Shared | MapFlags.Fixed), fd, 0).Value;
        fx.Sys.Peek(d, 1, out _);
        Assert.Equal(8UL * Page, fx.Mm.MemoryUsage(fx.Mm.FindVma(d)!).Rss);
    }
}
