using Mapwright.Abi;
using Mapwright.Syscalls;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class ShmemLifetimeTests
{
    private const ulong A = 0x100000000;

    [Fact]
    [Trait("Linux", "mm/shmem.c shmem_evict_inode(): a memfd's pages live while a descriptor or a mapping refers to it")]
    public void MemfdPagesLiveAsLongAsADescriptorOrMapping()
    {
        using var fx = new AddressSpaceFixture();
        ulong fd = fx.Sys.MemfdCreate("m", 0).Value;
        fx.Sys.Ftruncate(fd, 4 * Page);
        fx.Sys.Mmap(A, 4 * Page, ProtRw, (ulong)(MapFlags.Shared | MapFlags.Fixed), fd, 0);
        fx.Sys.Poke(A, 4 * Page, 3);
        Assert.Equal(4, fx.Mm.Manager.Memory.FramesInUse);

        // Unmapped, but the descriptor keeps the data.
        fx.Sys.Munmap(A, 4 * Page);
        Assert.Equal(4, fx.Mm.Manager.Memory.FramesInUse);
        fx.Sys.Mmap(A, 4 * Page, ProtRw, (ulong)(MapFlags.Shared | MapFlags.Fixed), fd, 0);
        Assert.Equal(Signal.None, fx.Sys.Peek(A + Page, 1, out ulong h));

        // Closed, but mapped: still there. Unmapped too: freed.
        fx.Sys.Close(fd);
        Assert.Equal(4, fx.Mm.Manager.Memory.FramesInUse);
        fx.Sys.Munmap(A, 4 * Page);
        Assert.Equal(0, fx.Mm.Manager.Memory.FramesInUse);
    }

    [Fact]
    [Trait("Linux", "a shared anonymous object lives while any process maps it, a fork child included")]
    public void SharedAnonymousMemoryLivesWhileAnyProcessMapsIt()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page, ProtRw, SharedAnon | Fixed);
        fx.Sys.Poke(A, 2 * Page, 1);
        Assert.False(fx.Sys.Fork(out MmSyscalls? child).IsError);
        fx.Sys.Munmap(A, 2 * Page);
        Assert.Equal(2, fx.Mm.Manager.Memory.FramesInUse);
        Assert.Equal(Signal.None, child!.Peek(A, 1, out _));
        child.Exit();
        Assert.Equal(0, fx.Mm.Manager.Memory.FramesInUse);
    }
}
