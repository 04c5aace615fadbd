using Mapwright.Abi;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.Syscalls;

public sealed partial class MmSyscallsTests
{
    private const ulong TaskSize = PageConstants.TaskSize;

    [Theory]
    [Trait("Linux", "mm/vma.c do_vmi_munmap(): offset_in_page, start > TASK_SIZE, len > TASK_SIZE - start, aligned len 0")]
    [InlineData(0x100001UL, Page, Errno.EINVAL)]
    [InlineData(0x100000UL, 0UL, Errno.EINVAL)]
    [InlineData(TaskSize + Page, Page, Errno.EINVAL)]
    [InlineData(TaskSize, Page, Errno.EINVAL)]
    [InlineData(TaskSize - Page, 2 * Page, Errno.EINVAL)]
    [InlineData(0x100000UL, ulong.MaxValue, Errno.EINVAL)]
    [InlineData(TaskSize, 0UL, Errno.EINVAL)]
    // Nothing mapped is success, as is a range at 0 or ending exactly at TASK_SIZE.
    [InlineData(0x300000UL, Page, Errno.None)]
    [InlineData(0UL, Page, Errno.None)]
    [InlineData(TaskSize - Page, Page, Errno.None)]
    [InlineData(0x100000UL, 1UL, Errno.None)]
    public void MunmapArgumentChecks(ulong addr, ulong len, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        Assert.Equal(expected, fx.Sys.Munmap(addr, len).Errno);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c do_vmi_munmap(): an unaligned length is rounded up to whole pages")]
    public void MunmapRoundsTheLengthUp()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(0UL, fx.Sys.Munmap(0x101000, Page + 1).Value);
        Assert.Equal("0x100000-0x101000 0x103000-0x104000", Layout.Ranges(fx.Mm));
        Assert.Equal(2UL, fx.Mm.TotalVm);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c do_vmi_munmap(): holes in the range are ignored, every VMA inside is removed")]
    public void MunmapAcrossHolesRemovesEverythingMappedAndSucceeds()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x104000, 2 * Page, ProtR);
        fx.Map(0x108000, 2 * Page);
        Assert.Equal(0UL, fx.Sys.Munmap(0x101000, 0x8000).Value);
        Assert.Equal("0x100000-0x101000 0x109000-0x10a000", Layout.Ranges(fx.Mm));
    }

    [Theory]
    [Trait("Linux", "mm/mprotect.c do_mprotect_pkey() argument checks in order")]
    // Both grow flags are EINVAL before anything else, even with len 0.
    [InlineData(0x100000UL, 0UL, (ulong)(Prot.GrowsDown | Prot.GrowsUp), Errno.EINVAL)]
    [InlineData(0x100001UL, Page, ProtR, Errno.EINVAL)]
    // len 0 succeeds before prot is validated and before any VMA lookup.
    [InlineData(0x100000UL, 0UL, 0x10UL, Errno.None)]
    [InlineData(0x300000UL, 0UL, ProtR, Errno.None)]
    // end <= start after page alignment: ENOMEM before prot validation.
    [InlineData(0xfffffffffffff000UL, Page, 0x10UL, Errno.ENOMEM)]
    [InlineData(0x100000UL, ulong.MaxValue, ProtR, Errno.ENOMEM)]
    // arch_validate_prot(): unknown bits EINVAL, before the VMA lookup; PROT_SEM is accepted.
    [InlineData(0x300000UL, Page, 0x10UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, 0x10UL, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, ProtR | (ulong)Prot.Sem, Errno.None)]
    // No VMA, or the range starts in a hole.
    [InlineData(0x300000UL, Page, ProtR, Errno.ENOMEM)]
    [InlineData(0xff000UL, 2 * Page, ProtR, Errno.ENOMEM)]
    // PROT_GROWSDOWN on a VMA without VM_GROWSDOWN, PROT_GROWSUP on x86 (no VM_GROWSUP).
    [InlineData(0x100000UL, Page, ProtR | (ulong)Prot.GrowsDown, Errno.EINVAL)]
    [InlineData(0x100000UL, Page, ProtR | (ulong)Prot.GrowsUp, Errno.EINVAL)]
    [InlineData(0xff000UL, Page, ProtR | (ulong)Prot.GrowsDown, Errno.ENOMEM)]
    // Anonymous memory has every VM_MAY* bit, so no EACCES.
    [InlineData(0x100000UL, 2 * Page, (ulong)(Prot.Read | Prot.Write | Prot.Exec), Errno.None)]
    public void MprotectArgumentChecksFollowLinuxOrder(ulong addr, ulong len, ulong prot, Errno expected)
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        string before = fx.Layout;
        Assert.Equal(expected, fx.Sys.Mprotect(addr, len, prot).Errno);
        if (expected != Errno.None)
        {
            Assert.Equal(before, fx.Layout);
        }
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c do_mprotect_pkey(): VMAs before a hole are changed, then ENOMEM")]
    public void MprotectOverAHoleChangesTheMappedPartThenFails()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 2 * Page);
        fx.Map(0x103000, 2 * Page);
        Assert.Equal(Errno.ENOMEM, fx.Sys.Mprotect(0x101000, 0x3000, ProtR).Errno);
        Assert.Equal("[0x100000-0x101000 rw-p pgoff=0x100] [0x101000-0x102000 r--p pgoff=0x101] [0x103000-0x105000 rw-p pgoff=0x103]", fx.Layout);
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c mprotect_fixup(): the changed range merges back with compatible neighbours")]
    public void MprotectSplitsAndMergesBack()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x101000, 2 * Page, ProtR).Value);
        Assert.Equal(3, fx.Mm.MapCount);
        Assert.Equal(2UL, fx.Mm.DataVm);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 4 * Page, ProtR).Value);
        Assert.Equal("[0x100000-0x104000 r--p pgoff=0x100]", fx.Layout);
        Assert.Equal(0UL, fx.Mm.DataVm);
        Assert.Equal(0L, fx.Mm.CommittedPages);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x100000, 4 * Page, ProtRw).Value);
        Assert.Equal(4L, fx.Mm.CommittedPages);
        Assert.Equal(4UL, fx.Mm.DataVm);
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c do_mprotect_pkey(): PROT_GROWSDOWN extends the range down to vm_start")]
    public void MprotectGrowsDownAppliesFromTheStartOfTheVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page, ProtRw, PrivateAnon | Fixed | (ulong)MapFlags.GrowsDown);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x102000, Page, ProtR | (ulong)Prot.GrowsDown).Value);
        Assert.Equal("[0x100000-0x103000 r--p pgoff=0x100] [0x103000-0x104000 rw-p pgoff=0x103]", fx.Layout);
        Assert.Equal(4UL, fx.Mm.StackVm);
    }

    [Fact]
    [Trait("Linux", "mm/mprotect.c mprotect_fixup(): the same protection changes nothing")]
    public void MprotectWithTheSameProtectionKeepsOneVma()
    {
        using var fx = new AddressSpaceFixture();
        fx.Map(0x100000, 4 * Page);
        Assert.Equal(0UL, fx.Sys.Mprotect(0x101000, Page, ProtRw).Value);
        Assert.Equal(1, fx.Mm.MapCount);
    }
}
