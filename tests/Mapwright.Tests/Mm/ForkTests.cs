using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Mm;

public sealed class ForkTests
{
    private const ulong A = 0x100000000;

    private static MmSyscalls Fork(AddressSpaceFixture fx)
    {
        Assert.False(fx.Sys.Fork(out MmSyscalls? child).IsError);
        return child!;
    }

    private static ulong Hash(MmSyscalls sys, ulong addr, ulong len)
    {
        Assert.Equal(Signal.None, sys.Peek(addr, len, out ulong h));
        return h;
    }

    private static ulong HashOfBytes(byte value, int len)
    {
        var fnv = new Fnv1a();
        var b = new byte[len];
        Array.Fill(b, value);
        fnv.Add(b);
        return fnv.Value;
    }

    [Fact]
    [Trait("Linux", "kernel/fork.c dup_mmap(), mm/memory.c do_wp_page(): private pages are copy-on-write after fork")]
    public void PrivatePagesAreCopiedOnWrite()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page);
        fx.Sys.Poke(A, 2 * Page, 1);
        MmSyscalls child = Fork(fx);
        Assert.Equal(HashOfBytes(1, 8192), Hash(child, A, 2 * Page));
        Assert.Equal(2, fx.Mm.Manager.Memory.MapCount(FrameAt(fx.Mm, A)));

        child.Poke(A, 10, 2);
        fx.Sys.Poke(A + Page, 10, 3);
        Assert.Equal(HashOfBytes(1, 10), Hash(fx.Sys, A, 10));
        Assert.Equal(HashOfBytes(2, 10), Hash(child, A, 10));
        Assert.Equal(HashOfBytes(1, 10), Hash(child, A + Page, 10));
        Assert.Equal(1, fx.Mm.Manager.Memory.MapCount(FrameAt(fx.Mm, A)));
        child.Mm.Validate();
    }

    [Fact]
    [Trait("Linux", "shared mappings share their pages after fork: a write in one is seen in the other")]
    public void SharedMappingsStayShared()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, Page, ProtRw, SharedAnon | Fixed);
        MmSyscalls child = Fork(fx);
        child.Poke(A, 100, 7);
        Assert.Equal(HashOfBytes(7, 100), Hash(fx.Sys, A, 100));
    }

    [Fact]
    [Trait("Linux", "madvise(2) MADV_DONTFORK, MADV_WIPEONFORK: the child lacks the range, or gets it zero-filled")]
    public void DontForkAndWipeOnFork()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page);
        fx.Sys.Poke(A, 2 * Page, 5);
        Assert.False(fx.Sys.Madvise(A, Page, (ulong)Madvise.DontFork).IsError);
        Assert.False(fx.Sys.Madvise(A + Page, Page, (ulong)Madvise.WipeOnFork).IsError);
        MmSyscalls child = Fork(fx);
        Assert.Equal(Signal.SIGSEGV, child.Peek(A, 1, out _));
        Assert.Equal(HashOfBytes(0, 100), Hash(child, A + Page, 100));
        Assert.Equal(HashOfBytes(5, 100), Hash(fx.Sys, A + Page, 100));
        Assert.Equal(1UL, child.Mm.TotalVm);
        Assert.Equal(2UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "fork(2): memory locks (mlock, mlockall MCL_FUTURE) are not inherited")]
    public void LocksAreNotInherited()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, Page);
        Assert.False(fx.Sys.Mlock(A, Page).IsError);
        Assert.False(fx.Sys.Mlockall(2 /* MCL_FUTURE */).IsError);
        MmSyscalls child = Fork(fx);
        Assert.Equal(0UL, child.Mm.LockedVm);
        Assert.Equal(VmFlags.None, child.Mm.FindVma(A)!.Flags & VmFlags.LockedMask);
        Assert.Equal(VmFlags.None, child.Mm.DefFlags & VmFlags.Locked);
        Assert.Equal(1UL, fx.Mm.LockedVm);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c is_mergeable_anon_vma(): a fork child's faulted VMA does not merge with an unfaulted neighbour")]
    public void ForkChildVmasMergeLess()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 2 * Page);
        fx.Sys.Poke(A, 1, 1);
        MmSyscalls child = Fork(fx);

        // In the parent a new neighbour joins the faulted VMA; in the child it stays apart.
        Assert.Equal(A + (2 * Page), fx.Sys.Mmap(A + (2 * Page), Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(A + (2 * Page), child.Mmap(A + (2 * Page), Page, ProtRw, PrivateAnon | Fixed, NoFd, 0).Value);
        Assert.Equal(1, fx.Mm.MapCount);
        Assert.Equal(2, child.Mm.MapCount);
        child.Mm.Validate();
    }

    [Fact]
    [Trait("Linux", "kernel/exit.c exit_mm(): exit releases the address space and its pages")]
    public void ExitReleasesPages()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(A, 4 * Page);
        fx.Sys.Poke(A, 4 * Page, 1);
        MmSyscalls child = Fork(fx);
        child.Poke(A, 4 * Page, 2);
        Assert.Equal(8, fx.Mm.Manager.Memory.FramesInUse);
        child.Exit();
        Assert.Equal(4, fx.Mm.Manager.Memory.FramesInUse);
        Assert.DoesNotContain(child.Mm, fx.Mm.Manager.AddressSpaces);
    }

    [Fact]
    [Trait("Linux", "mm/util.c __vm_enough_memory(): fork charges the child's accountable VMAs (OVERCOMMIT_NEVER)")]
    public void ForkIsRefusedWhenCommitWouldBeExceeded()
    {
        using var fx = new AddressSpaceFixture(new MmConfig { OvercommitMode = 2, OvercommitRatio = 100, TotalRamPages = 100 });
        fx.Map(A, 60 * Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Fork(out MmSyscalls? child).Errno);
        Assert.Null(child);
        Assert.Single(fx.Mm.Manager.AddressSpaces);
    }

    private static int FrameAt(AddressSpace mm, ulong addr)
    {
        Assert.True(mm.Pages.TryGetPte(addr >> 12, out Mapwright.Paging.Pte pte));
        return pte.Frame;
    }
}
