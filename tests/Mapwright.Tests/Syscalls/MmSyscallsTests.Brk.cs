using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    /// <summary>start_brk of a typical PIE process without randomisation.</summary>
    private const ulong StartBrk = 0x555555559000;

    private static AddressSpaceFixture BrkFixture()
    {
        var fx = new AddressSpaceFixture();
        using (fx.Mm.MmapLock.Read())
        {
            fx.Mm.PrctlSetMmBrk(StartBrk, StartBrk);
        }

        return fx;
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): a request below start_brk (brk(0)) returns the current break")]
    public void BrkBelowTheStartReturnsTheCurrentBreak()
    {
        using AddressSpaceFixture fx = BrkFixture();
        Assert.Equal(StartBrk, fx.Sys.Brk(0).Value);
        Assert.Equal(StartBrk + 0x21000, fx.Sys.Brk(StartBrk + 0x21000).Value);
        Assert.Equal(StartBrk + 0x21000, fx.Sys.Brk(StartBrk - Page).Value);
        Assert.Equal(StartBrk + 0x21000, fx.Sys.Brk(0).Value);
        Assert.Equal(StartBrk + 0x21000, fx.Mm.Brk);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk() -> mm/vma.c do_brk_flags(): the heap is one rw-p VMA that grows in place")]
    public void BrkGrowsTheHeapInPlace()
    {
        using AddressSpaceFixture fx = BrkFixture();
        Assert.Equal(StartBrk + 0x21000, fx.Sys.Brk(StartBrk + 0x21000).Value);
        Assert.Equal(StartBrk + 0x42000, fx.Sys.Brk(StartBrk + 0x42000).Value);
        Assert.Equal("[0x555555559000-0x55555559b000 rw-p pgoff=0x555555559]", fx.Layout);
        Vma heap = fx.Mm.FirstVma!;
        Assert.Equal(VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec | VmFlags.Account, heap.Flags);
        Assert.Equal(0x42L, fx.Mm.CommittedPages);
        Assert.Equal(0x42UL, fx.Mm.DataVm);
        string line = fx.Mm.FormatMaps().TrimEnd('\n');
        Assert.Equal("555555559000-55555559b000 rw-p 00000000 00:00 0                          [heap]", line);
        Assert.Null(MapsFormat.Check(line));
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): the break keeps its byte value, the VMA ends at PAGE_ALIGN(brk)")]
    public void AnUnalignedBreakMapsWholePages()
    {
        using AddressSpaceFixture fx = BrkFixture();
        Assert.Equal(StartBrk + 0x1234, fx.Sys.Brk(StartBrk + 0x1234).Value);
        Assert.Equal(StartBrk + 0x1234, fx.Mm.Brk);
        Assert.Equal("0x555555559000-0x55555555b000", Layout.Ranges(fx.Mm));

        // Within the same page only the value changes.
        Assert.Equal(StartBrk + 0x1fff, fx.Sys.Brk(StartBrk + 0x1fff).Value);
        Assert.Equal(StartBrk + 0x1001, fx.Sys.Brk(StartBrk + 0x1001).Value);
        Assert.Equal("0x555555559000-0x55555555b000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): shrinking is always allowed and unmaps [PAGE_ALIGN(brk), old break)")]
    public void BrkShrinkUnmapsTheTop()
    {
        using AddressSpaceFixture fx = BrkFixture();
        fx.Sys.Brk(StartBrk + 0x21000);
        Assert.Equal(StartBrk + Page, fx.Sys.Brk(StartBrk + Page).Value);
        Assert.Equal("0x555555559000-0x55555555a000", Layout.Ranges(fx.Mm));
        Assert.Equal(StartBrk, fx.Sys.Brk(StartBrk).Value);
        Assert.Equal(0, fx.Mm.MapCount);
        Assert.Equal(0L, fx.Mm.CommittedPages);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): growth needs [oldbrk, newbrk + PAGE_SIZE) free")]
    public void BrkNeedsAFreePageAboveTheNewBreak()
    {
        using AddressSpaceFixture fx = BrkFixture();
        fx.Map(StartBrk + 0x10000, Page, ProtR);
        Assert.Equal(StartBrk, fx.Sys.Brk(StartBrk + 0x10000).Value);
        Assert.Equal(StartBrk, fx.Sys.Brk(StartBrk + 0x20000).Value);
        Assert.Equal(1, fx.Mm.MapCount);
        Assert.Equal(StartBrk + 0xf000, fx.Sys.Brk(StartBrk + 0xf000).Value);
        Assert.Equal("0x555555559000-0x555555568000 0x555555569000-0x55555556a000", Layout.Ranges(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): vm_start_gap() keeps the heap a guard gap below a grows-down VMA")]
    public void BrkStopsAGuardGapBelowAGrowsDownVma()
    {
        using AddressSpaceFixture fx = BrkFixture();
        ulong stack = StartBrk + 0x200000;
        fx.Map(stack, Page, ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.GrowsDown);
        Assert.Equal(StartBrk, fx.Sys.Brk(stack - MiB).Value);
        Assert.Equal(stack - MiB - Page, fx.Sys.Brk(stack - MiB - Page).Value);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): shrinking over a range with no brk VMA fails and returns the old break")]
    public void BrkShrinkAfterTheHeapWasUnmappedFails()
    {
        using AddressSpaceFixture fx = BrkFixture();
        fx.Sys.Brk(StartBrk + 0x4000);
        Assert.Equal(0UL, fx.Sys.Munmap(StartBrk, 0x4000).Value);
        Assert.Equal(StartBrk + 0x4000, fx.Sys.Brk(StartBrk + Page).Value);
        Assert.Equal(StartBrk + 0x4000, fx.Mm.Brk);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c brk(): with mlockall(MCL_FUTURE) the new heap is locked and populated")]
    public void BrkAfterMlockallFutureIsLockedAndPopulated()
    {
        using AddressSpaceFixture fx = BrkFixture();
        Assert.Equal(0UL, fx.Sys.Mlockall(McFuture).Value);
        fx.Sys.Brk(StartBrk + 0x2000);
        Assert.True((fx.Mm.FirstVma!.Flags & VmFlags.Locked) != 0);
        Assert.Equal(2UL, fx.Mm.LockedVm);
        var vec = new List<byte>();
        Assert.Equal(0UL, fx.Sys.Mincore(StartBrk, 0x2000, true, vec).Value);
        Assert.Equal(new byte[] { 1, 1 }, vec);
    }
}
