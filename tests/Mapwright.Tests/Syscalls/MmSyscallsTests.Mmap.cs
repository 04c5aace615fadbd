using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    private const ulong MiB = 1UL << 20;

    /// <summary>An occupied page for the EEXIST rows of the mmap matrix.</summary>
    private const ulong Occupied = 0x200000;

    [Theory]
    [Trait("Linux", "sys_mmap/ksys_mmap_pgoff/do_mmap/__get_unmapped_area argument checks in order")]
    // x86 sys_mmap: the offset is checked before anything else, even before the fd.
    [InlineData(0UL, 0UL, ProtRw, (ulong)MapFlags.Private, 0x123UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, PrivateAnon, 0x123UL, Errno.EINVAL)]
    // ksys_mmap_pgoff: without MAP_ANONYMOUS fd -1 is EBADF, before the length is looked at.
    [InlineData(0UL, 0UL, ProtRw, (ulong)MapFlags.Private, 0UL, Errno.EBADF)]
    [InlineData(0UL, Page, ProtRw, (ulong)MapFlags.Shared, 0UL, Errno.EBADF)]
    // do_mmap: len 0, then the page-aligned length overflowing to 0.
    [InlineData(0UL, 0UL, ProtRw, PrivateAnon, 0UL, Errno.EINVAL)]
    [InlineData(0UL, ulong.MaxValue, ProtRw, PrivateAnon, 0UL, Errno.ENOMEM)]
    [InlineData(0UL, 0xfffffffffffff001UL, ProtRw, PrivateAnon, 0UL, Errno.ENOMEM)]
    [InlineData(0UL, ulong.MaxValue, ProtRw, (ulong)MapFlags.Anonymous, 0UL, Errno.ENOMEM)]
    // __get_unmapped_area: longer than TASK_SIZE.
    [InlineData(0UL, 1UL << 47, ProtRw, PrivateAnon, 0UL, Errno.ENOMEM)]
    // MAP_FIXED: no address checking in the allocator, then the range, alignment and mmap_min_addr checks.
    [InlineData(0UL, Page, ProtRw, PrivateAnon | Fixed, 0UL, Errno.EPERM)]
    [InlineData(0x10001UL, Page, ProtRw, PrivateAnon | Fixed, 0UL, Errno.EINVAL)]
    [InlineData(0x7ffffffff000UL - Page, 2 * Page, ProtRw, PrivateAnon | Fixed, 0UL, Errno.ENOMEM)]
    [InlineData(0x10001UL, Page, ProtRw, PrivateAnon | FixedNoReplace, 0UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, PrivateAnon | FixedNoReplace, 0UL, Errno.EPERM)]
    // MAP_FIXED_NOREPLACE over a mapping: EEXIST, even with no map type (checked later).
    [InlineData(Occupied, Page, ProtRw, PrivateAnon | FixedNoReplace, 0UL, Errno.EEXIST)]
    [InlineData(Occupied - Page, 2 * Page, ProtRw, PrivateAnon | FixedNoReplace, 0UL, Errno.EEXIST)]
    [InlineData(Occupied, Page, ProtRw, (ulong)MapFlags.Anonymous | FixedNoReplace, 0UL, Errno.EEXIST)]
    // mlock_future_ok: MAP_LOCKED beyond RLIMIT_MEMLOCK (8 MiB) is EAGAIN, before the map type is checked.
    [InlineData(0UL, (8 * MiB) + Page, ProtRw, PrivateAnon | Locked, 0UL, Errno.EAGAIN)]
    [InlineData(0UL, (8 * MiB) + Page, ProtRw, (ulong)MapFlags.Anonymous | Locked, 0UL, Errno.EAGAIN)]
    [InlineData(0UL, (8 * MiB) + Page, ProtRw, SharedAnon | (ulong)MapFlags.GrowsDown | Locked, 0UL, Errno.EAGAIN)]
    // The map type: none, MAP_SHARED_VALIDATE (anonymous), growsdown shared, droppable and locked.
    [InlineData(0UL, Page, ProtRw, (ulong)MapFlags.Anonymous, 0UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, (ulong)(MapFlags.SharedValidate | MapFlags.Anonymous), 0UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, SharedAnon | (ulong)MapFlags.GrowsDown, 0UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, (ulong)(MapFlags.Droppable | MapFlags.Anonymous | MapFlags.Locked), 0UL, Errno.EINVAL)]
    [InlineData(0UL, Page, ProtRw, (ulong)(MapFlags.Droppable | MapFlags.Anonymous | MapFlags.GrowsDown), 0UL, Errno.EINVAL)]
    // Successes: MAP_FIXED at the DAC mmap_min_addr (4096), exactly 8 MiB locked, unknown bits ignored.
    [InlineData(0x1000UL, Page, ProtRw, PrivateAnon | Fixed, 0UL, Errno.None)]
    [InlineData(0x100000UL, 8 * MiB, ProtRw, PrivateAnon | Fixed | Locked, 0UL, Errno.None)]
    [InlineData(0x100000UL, Page, ProtRw, PrivateAnon | Fixed | 0x400UL, 0UL, Errno.None)]
    [InlineData(0x100000UL, Page, 0x10UL | ProtRw, PrivateAnon | Fixed, 0UL, Errno.None)]
    [InlineData(0x100000UL, Page, ProtRw, PrivateAnon | Fixed, 0x7fff000UL, Errno.None)]
    public void MmapArgumentChecksFollowLinuxOrder(ulong addr, ulong len, ulong prot, ulong flags, ulong offset, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(Occupied, Page);
        string before = fx.Layout;
        SysResult r = fx.Sys.Mmap(addr, len, prot, flags, NoFd, offset);
        Assert.Equal(expected, r.Errno);
        if (expected == Errno.None)
        {
            Assert.Equal(addr, r.Value);
            Assert.NotNull(fx.Mm.LookupVma(addr));
        }
        else
        {
            Assert.Equal(before, fx.Layout);
        }
    }

    [Theory]
    [Trait("Linux", "mm/mmap.c round_hint_to_min(): a hint below mmap_min_addr (64 KiB) is rounded up to it")]
    [InlineData(0x1000UL)]
    [InlineData(0x8000UL)]
    [InlineData(0xffffUL)]
    [InlineData(0x10000UL)]
    public void AHintBelowTheMinimumIsRoundedUpTo64KiB(ulong hint)
    {
        using var fx = new AddressSpaceFixture();
        Assert.Equal(0x10000UL, fx.Sys.Mmap(hint, Page, ProtRw, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area_topdown(): an occupied hint falls back to the search")]
    public void AnOccupiedHintFallsBackToTopDown()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x200000, Page);
        Assert.Equal(MmapBase - Page, fx.Sys.Mmap(0x200000, Page, ProtRw, PrivateAnon, NoFd, 0).Value);
        Assert.Equal(0x201000UL, fx.Sys.Mmap(0x201000, Page, ProtR, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): each mapping goes at the top of the highest gap below mmap_base")]
    public void HintlessMappingsGoDownFromMmapBase()
    {
        using var fx = new AddressSpaceFixture();
        Assert.Equal(0x7ffff7fff000UL, fx.Mm.MmapBase);
        Assert.Equal(0x7ffff7ffe000UL, fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value);
        Assert.Equal(0x7ffff7ffd000UL, fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value);
        Assert.Equal(0x7ffff7ffb000UL, fx.Sys.Mmap(0, 2 * Page, ProtR, PrivateAnon, NoFd, 0).Value);

        // The two read-write pages are one VMA: the second is prepended to the first (pgoff contiguous).
        Assert.Equal("[0x7ffff7ffb000-0x7ffff7ffd000 r--p pgoff=0x7ffff7ffb] [0x7ffff7ffd000-0x7ffff7fff000 rw-p pgoff=0x7ffff7ffd]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): a freed hole higher up is reused first")]
    public void AFreedHoleHigherUpIsReusedFirst()
    {
        using var fx = new AddressSpaceFixture();
        ulong a = fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value;
        ulong b = fx.Sys.Mmap(0, Page, ProtR, PrivateAnon, NoFd, 0).Value;
        ulong c = fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value;
        Assert.Equal((MmapBase - Page, MmapBase - (2 * Page), MmapBase - (3 * Page)), (a, b, c));
        Assert.Equal(0UL, fx.Sys.Munmap(b, Page).Value);
        Assert.Equal(b, fx.Sys.Mmap(0, Page, ProtNone, PrivateAnon, NoFd, 0).Value);

        // Two pages do not fit the one-page hole: they go below c.
        Assert.Equal(0UL, fx.Sys.Munmap(b, Page).Value);
        Assert.Equal(c - (2 * Page), fx.Sys.Mmap(0, 2 * Page, ProtNone, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c __get_unmapped_area() -> mm/huge_memory.c __thp_get_unmapped_area()")]
    public void HintlessAnonymousMappingsOf2MiBMultiplesAreThpAligned()
    {
        using var fx = new AddressSpaceFixture();

        // Search for 4 MiB below 0x7ffff7fff000 gives 0x7ffff7bff000; rounded up to 2 MiB: 0x7ffff7c00000.
        Assert.Equal(0x7ffff7c00000UL, fx.Sys.Mmap(0, 2 * MiB, ProtRw, PrivateAnon, NoFd, 0).Value);

        // The next search returns an aligned 0x7ffff7800000, and top-down takes the upper half.
        Assert.Equal(0x7ffff7a00000UL, fx.Sys.Mmap(0, 2 * MiB, ProtRw, PrivateAnon, NoFd, 0).Value);
        Assert.Equal(0x7ffff7600000UL, fx.Sys.Mmap(0, 4 * MiB, ProtR, PrivateAnon, NoFd, 0).Value);
        Assert.Equal("0x7ffff7600000-0x7ffff7a00000 0x7ffff7a00000-0x7ffff7e00000", Layout.Ranges(fx.Mm));
    }

    [Theory]
    [Trait("Linux", "mm/mmap.c __get_unmapped_area(): only hint-less private anonymous PMD-multiple lengths are THP-aligned")]
    [InlineData(3 * MiB, PrivateAnon, 0UL, 0x7ffff7cff000UL)]
    [InlineData(2 * MiB, SharedAnon, 0UL, 0x7ffff7dff000UL)]
    [InlineData(2 * MiB, PrivateAnon, 0x100000000UL, 0x100000000UL)]
    [InlineData(2 * MiB + Page, PrivateAnon, 0UL, 0x7ffff7dfe000UL)]
    public void OtherMappingsAreOnlyPageAligned(ulong len, ulong flags, ulong hint, ulong expected)
    {
        using var fx = new AddressSpaceFixture();
        Assert.Equal(expected, fx.Sys.Mmap(hint, len, ProtRw, flags, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): vm_start_gap() keeps stack_guard_gap below a MAP_GROWSDOWN VMA")]
    public void AGrowsDownMappingKeepsA1MiBGuardGapBelowIt()
    {
        using var fx = new AddressSpaceFixture();
        ulong stack = fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon | (ulong)MapFlags.GrowsDown, NoFd, 0).Value;
        Assert.Equal(MmapBase - Page, stack);
        Assert.Equal(stack - MiB - Page, fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value);

        // A hint inside the guard gap is refused too (addr + len > vm_start_gap(next)).
        Assert.Equal(stack - MiB - (2 * Page), fx.Sys.Mmap(stack - (2 * Page), Page, ProtR, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "arch/x86/kernel/sys_x86_64.c: MAP_32BIT goes bottom-up from 0x40000000")]
    public void Map32BitGoesBottomUpFrom1GiB()
    {
        using var fx = new AddressSpaceFixture();
        ulong flags = PrivateAnon | (ulong)MapFlags.Bit32;
        Assert.Equal(0x40000000UL, fx.Sys.Mmap(0, Page, ProtRw, flags, NoFd, 0).Value);
        Assert.Equal(0x40001000UL, fx.Sys.Mmap(0, Page, ProtR, flags, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "arch/x86/mm/mmap.c arch_pick_mmap_layout(): legacy layout searches bottom-up from TASK_SIZE/3")]
    public void LegacyLayoutSearchesBottomUpFromTheLegacyBase()
    {
        using var fx = new AddressSpaceFixture();
        fx.Mm.TopDown = false;
        Assert.Equal(0x2aaaaaaab000UL, fx.Mm.MmapLegacyBase);
        Assert.Equal(0x2aaaaaaab000UL, fx.Sys.Mmap(0, Page, ProtRw, PrivateAnon, NoFd, 0).Value);
        Assert.Equal(0x2aaaaaaac000UL, fx.Sys.Mmap(0, Page, ProtR, PrivateAnon, NoFd, 0).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c do_mmap(): MAP_FIXED replaces what is there (do_vmi_munmap in mmap_region)")]
    public void MapFixedOverAMappingReplacesIt()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page, ProtRw, PrivateAnon | Fixed | Populate);
        Assert.Equal(0x101000UL, fx.Sys.Mmap(0x101000, 2 * Page, ProtR, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal("[0x100000-0x101000 rw-p pgoff=0x100] [0x101000-0x103000 r--p pgoff=0x101] [0x103000-0x104000 rw-p pgoff=0x103]", fx.Layout);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 4 * Page, true, vec).Value);
        Assert.Equal(new byte[] { 1, 0, 0, 1 }, vec);
        Assert.Equal(4UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c accountable_mapping(): private writable memory is charged; MAP_NORESERVE is not")]
    public void PrivateWritableMappingsAreCommittedUnlessNoReserve()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(4L, fx.Mm.CommittedPages);
        fx.Map(0x200000, 4 * Page, ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.NoReserve);
        fx.Map(0x300000, 4 * Page, ProtR);
        fx.Map(0x400000, 4 * Page, ProtRw, SharedAnon | Fixed);
        Assert.Equal(4L, fx.Mm.CommittedPages);
        Assert.True((fx.Mm.LookupVma(0x100000)!.Flags & VmFlags.Account) != 0);
        Assert.True((fx.Mm.LookupVma(0x200000)!.Flags & VmFlags.NoReserve) != 0);
        Assert.Equal(0UL, fx.Sys.Munmap(0x100000, 2 * Page).Value);
        Assert.Equal(2L, fx.Mm.CommittedPages);
    }

    [Fact]
    [Trait("Linux", "mm/shmem.c shmem_zero_setup(); fs/proc/task_mmu.c show_map_vma()")]
    public void SharedAnonymousMappingsShowAsDevZeroDeleted()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, Page, ProtRw, SharedAnon | Fixed);
        string line = fx.Mm.FormatMaps().TrimEnd('\n');
        Assert.StartsWith("00100000-00101000 rw-s 00000000 00:01 ", line, StringComparison.Ordinal);
        Assert.EndsWith(" /dev/zero (deleted)", line, StringComparison.Ordinal);
        Assert.Null(MapsFormat.Check(line));
    }

    [Fact]
    [Trait("Linux", "fs/proc/task_mmu.c show_vma_header_prefix(): anonymous lines end in the inode and a space")]
    public void AnonymousMapsLinesEndWithAnInodeOfZeroAndASpace()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x10000, Page, ProtRw);
        fx.Map(0x7ffff7ffe000, Page, ProtR | (ulong)Prot.Exec);
        Assert.Equal("00010000-00011000 rw-p 00000000 00:00 0 \n7ffff7ffe000-7ffff7fff000 r-xp 00000000 00:00 0 \n", fx.Mm.FormatMaps());
    }

    [Theory]
    [Trait("Linux", "mm/mmap.c do_mmap(): populate = len for MAP_POPULATE without MAP_NONBLOCK, or VM_LOCKED")]
    [InlineData(ProtRw, PrivateAnon | Fixed | Populate, 1)]
    [InlineData(ProtR, PrivateAnon | Fixed | Populate, 1)]
    [InlineData(ProtRw, PrivateAnon | Fixed | Locked, 1)]
    [InlineData(ProtRw, PrivateAnon | Fixed | Populate | (ulong)MapFlags.NonBlock, 0)]
    [InlineData(ProtRw, PrivateAnon | Fixed, 0)]
    [InlineData(ProtNone, PrivateAnon | Fixed | Populate, 0)]
    public void PopulateFaultsInEveryPage(ulong prot, ulong flags, byte resident)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 3 * Page, prot, flags);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(0x100000, 3 * Page, true, vec).Value);
        Assert.Equal(new[] { resident, resident, resident }, vec);
    }
}
