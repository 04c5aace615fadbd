using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class ZeroPageTests
{
    private const ulong A = 0x100000000;

    [Fact]
    [Trait("Linux", "mm/memory.c do_anonymous_page(): a read fault maps the zero page, which smaps does not count and which needs no anon_vma")]
    public void ReadFaultMapsTheZeroPage()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { ZeroPage = true });
        fx.Map(A, 2 * Page);
        fx.Sys.Peek(A, 1, out _);
        Vma vma = fx.Mm.FindVma(A)!;
        Assert.Null(vma.AnonVma);
        Assert.Equal(0UL, fx.Mm.MemoryUsage(vma).Rss);

        // Untouched and read-only-touched neighbours still merge (no anon_vma on either side).
        fx.Map(A + (2 * Page), Page);
        Assert.Equal("A+0 3p", Summary(fx.Mm));
    }

    [Fact]
    [Trait("Linux", "mm/memory.c do_anonymous_page() with mm_forbids_zeropage(): a read fault allocates a page, prepares the anon_vma and dirties the entry of a writable VMA")]
    public void WithoutTheZeroPageAReadFaultAllocatesAPage()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { ZeroPage = false });
        fx.Map(A, 2 * Page);
        fx.Map(A + (8 * Page), Page, ProtR);
        fx.Sys.Peek(A, 1, out _);
        fx.Sys.Peek(A + (8 * Page), 1, out _);
        Vma rw = fx.Mm.FindVma(A)!;
        Vma ro = fx.Mm.FindVma(A + (8 * Page))!;
        Assert.NotNull(rw.AnonVma);
        VmaMemoryUsage rwUsage = fx.Mm.MemoryUsage(rw);
        Assert.Equal(Page, rwUsage.Rss);
        Assert.Equal(Page, rwUsage.PrivateDirty);
        VmaMemoryUsage roUsage = fx.Mm.MemoryUsage(ro);
        Assert.Equal(Page, roUsage.PrivateClean);
        Assert.Equal(0UL, roUsage.PrivateDirty);

    }

    [Theory]
    [InlineData(true, 1)]
    [InlineData(false, 2)]
    [Trait("Linux", "mm/vma.c is_mergeable_anon_vma(): VMAs with different anon_vmas never merge; a zero-page read gives none")]
    public void ReadFaultedNeighboursMergeOnlyWithTheZeroPage(bool zeroPage, int vmas)
    {
        using var fx = new AddressSpaceFixture(new MmConfig { ZeroPage = zeroPage });
        fx.Map(A, Page);
        fx.Map(A + (2 * Page), Page);
        fx.Sys.Peek(A, 1, out _);
        fx.Sys.Peek(A + (2 * Page), 1, out _);

        // The hole between them filled: prev and next have different anon_vmas, so only prev may take it.
        fx.Map(A + Page, Page);
        Assert.Equal(vmas, fx.Mm.MapCount);
    }

    private static string Summary(AddressSpace mm)
    {
        Vma v = mm.FindVma(A)!;
        return $"A+{(v.Start - A) / Page} {(v.End - v.Start) / Page}p";
    }
}
