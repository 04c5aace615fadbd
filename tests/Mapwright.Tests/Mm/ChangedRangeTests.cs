using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

/// <summary><see cref="AddressSpace.TakeChangedRange"/>: what an observer of the maps (the HTML report) reads again
/// after a call. Too wide costs time; too narrow would leave a stale line, which these tests and the report's
/// property test (every call of random traces against the maps text) look for.</summary>
public sealed class ChangedRangeTests
{
    private const ulong A = 0x100000000;

    [Fact]
    [Trait("Rule", "TakeChangedRange: an mprotect that changes one whole VMA in place reports that VMA, and the next take reports nothing")]
    public void AFlagsChangeInPlaceReportsTheVmaAndTakingResets()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 4 * Page);
        fx.Map(A + (8 * Page), 2 * Page, ProtR);
        fx.Mm.TakeChangedRange(out _, out _);
        Assert.Equal(0, fx.Sys.Mprotect(A + (8 * Page), 2 * Page, ProtNone).Raw);
        Assert.True(fx.Mm.TakeChangedRange(out ulong start, out ulong end));
        Assert.Equal((A + (8 * Page), A + (10 * Page)), (start, end));
        Assert.False(fx.Mm.TakeChangedRange(out _, out _));
    }

    [Fact]
    [Trait("Rule", "TakeChangedRange: a split and a re-merge report the whole range the VMAs covered before and after")]
    public void SplitAndMergeReportTheRangesBeforeAndAfter()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 4 * Page);
        fx.Mm.TakeChangedRange(out _, out _);
        Assert.Equal(0, fx.Sys.Mprotect(A + Page, Page, ProtR).Raw);
        Assert.True(fx.Mm.TakeChangedRange(out ulong start, out ulong end));
        Assert.True(start <= A && end >= A + (4 * Page), $"{start:x}-{end:x}");
        Assert.Equal(0, fx.Sys.Mprotect(A + Page, Page, ProtRw).Raw);
        Assert.True(fx.Mm.TakeChangedRange(out start, out end));
        Assert.True(start <= A && end >= A + (4 * Page), $"{start:x}-{end:x}");
    }

    [Fact]
    [Trait("Rule", "TakeChangedRange: calls that change no VMA (touching pages, MADV_DONTNEED, a failed munmap) report nothing")]
    public void CallsThatChangeNoVmaReportNothing()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 4 * Page);
        fx.Mm.TakeChangedRange(out _, out _);
        fx.Sys.Poke(A, 2 * Page, 1);
        Assert.Equal(0, fx.Sys.Madvise(A, Page, (ulong)Madvise.DontNeed).Raw);
        Assert.True(fx.Sys.Munmap(A + 1, Page).IsError);
        Assert.False(fx.Mm.TakeChangedRange(out _, out _));
    }
}
