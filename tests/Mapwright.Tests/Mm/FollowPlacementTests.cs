using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;

namespace Mapwright.Tests.Mm;

/// <summary>The library's hook for following a kernel's placement (<see cref="AddressSpace.Follow"/>): consulted
/// once, by the first placement search of the call that is not MAP_FIXED, after its own checks.</summary>
public sealed class FollowPlacementTests
{
    [Fact]
    [Trait("Linux", "mm/mmap.c do_mmap(): get_unmapped_area() chooses the address, then mmap_region() maps it as usual")]
    public void AFollowedPlacementIsConsultedOnceAndTheMappingIsMadeThere()
    {
        using var f = new AddressSpaceFixture(new MmConfig());
        var follow = new PlacementToFollow(0x7f0000000000);
        f.Mm.Follow = follow;
        SysResult r = f.Sys.Mmap(0, 8192, SyscallArgs.ProtRw, SyscallArgs.PrivateAnon, ulong.MaxValue, 0);
        Assert.Equal(0x7f0000000000UL, r.Value);
        Assert.True(follow.Consulted);
        Assert.True(follow.Followed);
        Assert.Null(follow.Refusal);

        // Still set, but already consulted: the next search is the model's own.
        SysResult next = f.Sys.Mmap(0, 4096, SyscallArgs.ProtRw, SyscallArgs.PrivateAnon, ulong.MaxValue, 0);
        Assert.Equal(0x7ffff7ffe000UL, next.Value);
        f.Mm.Follow = null;
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c __get_unmapped_area(): MAP_FIXED returns the caller's address, no search runs")]
    public void AFixedMappingDoesNotConsultIt()
    {
        using var f = new AddressSpaceFixture(new MmConfig());
        var follow = new PlacementToFollow(0x7f0000000000);
        f.Mm.Follow = follow;
        SysResult r = f.Sys.Mmap(0x7f1000000000, 4096, SyscallArgs.ProtRw, SyscallArgs.PrivateAnon | SyscallArgs.Fixed, ulong.MaxValue, 0);
        Assert.Equal(0x7f1000000000UL, r.Value);
        Assert.False(follow.Consulted);
        f.Mm.Follow = null;
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): only a free gap is chosen")]
    public void ARefusedPlacementLeavesTheSearchsOwnAnswer()
    {
        using var f = new AddressSpaceFixture(new MmConfig());
        f.Map(0x7f0000000000, 8192);
        var follow = new PlacementToFollow(0x7f0000001000);
        f.Mm.Follow = follow;
        SysResult r = f.Sys.Mmap(0, 4096, SyscallArgs.ProtRw, SyscallArgs.PrivateAnon, ulong.MaxValue, 0);
        f.Mm.Follow = null;
        Assert.Equal(0x7ffff7ffe000UL, r.Value);
        Assert.True(follow.Consulted);
        Assert.False(follow.Followed);
        Assert.Equal("the logged range 0x7f0000001000-0x7f0000002000 overlaps 7f0000000000-7f0000002000 in the model", follow.Refusal);
    }
}
