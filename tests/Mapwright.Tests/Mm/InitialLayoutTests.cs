using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.Mm;
using Mapwright.Mm.Exec;
using Mapwright.Tests.Harness;
using Xunit;

namespace Mapwright.Tests.Mm;

/// <summary>The address space rebuilt from an initial maps dump (<see cref="InitialLayout"/>) and the layout
/// choices made from outside exec (<see cref="AddressSpace.PickMmapLayout"/>,
/// <see cref="AddressSpace.PrctlSetMmBrk"/>).</summary>
public sealed class InitialLayoutTests
{
    private static Errno Install(AddressSpace mm, ulong start, ulong end, string perms, string name, MappedFile? file = null) =>
        InitialLayout.InstallLine(mm, $"{start:x}-{end:x} {perms} 00000000 00:00 0 {name}", start, end, perms, 0, name, file, null);

    [Fact]
    [Trait("Linux", "fs/exec.c setup_arg_pages(): the stack VMA is VM_GROWSDOWN|VM_ACCOUNT; mm->start_stack lies inside it")]
    public void TheStackLineGrowsDownAndSetsTheStackStart()
    {
        using var fx = new AddressSpaceFixture();
        using (fx.Mm.MmapLock.Write())
        {
            Assert.Equal(Errno.None, Install(fx.Mm, 0x7ffffffde000, 0x7ffffffff000, "rw-p", "[stack]"));
        }

        Vma stack = fx.Mm.LookupVma(0x7ffffffde000)!;
        Assert.Equal(VmFlags.GrowsDown | VmFlags.Account, stack.Flags & (VmFlags.GrowsDown | VmFlags.Account));
        Assert.Equal(0x7ffffffde000UL >> PageConstants.PageShift, stack.PgOff);
        Assert.Equal(0x7ffffffff000UL - 8, fx.Mm.StartStack);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c _install_special_mapping(): VM_DONTEXPAND, a name, and a split refused with EINVAL")]
    public void SpecialMappingsKeepTheirNameAndRefuseSplits()
    {
        using var fx = new AddressSpaceFixture();
        using (fx.Mm.MmapLock.Write())
        {
            Assert.Equal(Errno.None, Install(fx.Mm, 0x7ffff7fc1000, 0x7ffff7fc5000, "r--p", "[vvar]"));
            Assert.Equal(Errno.None, Install(fx.Mm, 0x7ffff7fc5000, 0x7ffff7fc7000, "r-xp", "[vdso]"));
        }

        Vma vvar = fx.Mm.LookupVma(0x7ffff7fc1000)!;
        Vma vdso = fx.Mm.LookupVma(0x7ffff7fc5000)!;
        Assert.Equal(VmFlags.DontExpand, vvar.Flags & VmFlags.DontExpand);
        Assert.Equal(VmFlags.DontExpand, vdso.Flags & VmFlags.DontExpand);
        Assert.True(vdso.VmOps!.IsSpecialMapping);
        Assert.Equal("[vdso]", vdso.VmOps.Name);
        Assert.Equal(Errno.EINVAL, vdso.VmOps.MaySplit!(0x7ffff7fc6000));
    }

    [SkippableFact]
    [Trait("Linux", "host kernel: the vDSO block of an initial maps dump has the VmFlags this process's own [vvar] and [vdso] show in /proc/self/smaps (arch/x86/entry/vdso/vma.c map_vdso())")]
    public void SpecialMappingsHaveTheHostKernelsFlags()
    {
        Skip.IfNot(File.Exists("/proc/self/smaps"), "no /proc/self/smaps");
        var host = new Dictionary<string, string>();
        string? current = null;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            if (line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                if (current is not null)
                {
                    host[current] = line;
                }

                current = null;
            }
            else if (line.IndexOf(' ', StringComparison.Ordinal) is > 0 and int space && line.AsSpan(0, space).Contains('-'))
            {
                current = line.EndsWith("[vvar]", StringComparison.Ordinal) ? "[vvar]" : line.EndsWith("[vdso]", StringComparison.Ordinal) ? "[vdso]" : null;
            }
        }

        Skip.If(host.Count < 2, "the host has no [vvar] and [vdso]");
        using var fx = new AddressSpaceFixture();
        using (fx.Mm.MmapLock.Write())
        {
            Assert.Equal(Errno.None, Install(fx.Mm, 0x7ffff7fc1000, 0x7ffff7fc5000, "r--p", "[vvar]"));
            Assert.Equal(Errno.None, Install(fx.Mm, 0x7ffff7fc7000, 0x7ffff7fc9000, "r-xp", "[vdso]"));
        }

        string[] smaps = fx.Mm.FormatSmaps().Split('\n');
        string[] modelFlags = Array.FindAll(smaps, l => l.StartsWith("VmFlags:", StringComparison.Ordinal));
        Assert.Equal(host["[vvar]"].TrimEnd(), modelFlags[0].TrimEnd());
        Assert.Equal(host["[vdso]"].TrimEnd(), modelFlags[1].TrimEnd());
    }

    [Fact]
    [Trait("Linux", "fs/proc/task_mmu.c show_map_vma(): lines of one address space do not overlap")]
    public void AnOverlappingLineIsRefusedAndInstallsNothing()
    {
        using var fx = new AddressSpaceFixture();
        using (fx.Mm.MmapLock.Write())
        {
            Assert.Equal(Errno.None, Install(fx.Mm, 0x10000, 0x13000, "rw-p", string.Empty));
            Assert.Equal(Errno.EEXIST, Install(fx.Mm, 0x12000, 0x14000, "rw-p", string.Empty));
        }

        Assert.Equal(1, fx.Mm.MapCount);
    }

    [Fact]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary(): start_brk = brk = the page-aligned end of the executable's bss")]
    public void WithoutAHeapLineTheBreakFollowsTheExecutable()
    {
        using var fx = new AddressSpaceFixture();
        var exe = new MappedFile("/usr/bin/true", 8, 1, 42);
        using (fx.Mm.MmapLock.Write())
        {
            Assert.True(InitialLayout.IsFileLine(0x555555554000, "/usr/bin/true"));
            Assert.Equal(Errno.None, InitialLayout.InstallLine(fx.Mm, "exe", 0x555555554000, 0x555555556000, "r-xp", 0, "/usr/bin/true", exe, null));
            Assert.Equal(Errno.None, InitialLayout.InstallLine(fx.Mm, "exe", 0x555555556000, 0x555555557000, "rw-p", 0x2000, "/usr/bin/true", exe, null));
            Assert.Equal(Errno.None, Install(fx.Mm, 0x555555557000, 0x555555559000, "rw-p", string.Empty));
            InitialLayout.Finish(fx.Mm);
        }

        Assert.Equal(0x555555559000UL, fx.Mm.StartBrk);
        Assert.Equal(0x555555559000UL, fx.Mm.Brk);
    }

    [Fact]
    [Trait("Linux", "execve builds the new address space under the mmap write lock")]
    public void InstallingALineWithoutTheMmapWriteLockIsABug()
    {
        using var fx = new AddressSpaceFixture();
        Assert.Throws<KernelBugException>(() => Install(fx.Mm, 0x10000, 0x11000, "rw-p", string.Empty));
    }

    [Fact]
    [Trait("Linux", "kernel/sys.c prctl_set_mm(): PR_SET_MM_START_BRK and PR_SET_MM_BRK under mmap_read_lock()")]
    public void PrctlSetMmBrkSetsTheBreakUnderTheMmapLock()
    {
        using var fx = new AddressSpaceFixture();
        Assert.Throws<KernelBugException>(() => fx.Mm.PrctlSetMmBrk(0x555555559000, 0x555555559000));
        using (fx.Mm.MmapLock.Read())
        {
            fx.Mm.PrctlSetMmBrk(0x555555559000, 0x55555555a000);
            Assert.Throws<ArgumentOutOfRangeException>(() => fx.Mm.PrctlSetMmBrk(0x55555555a000, 0x555555559000));
        }

        Assert.Equal(0x555555559000UL, fx.Mm.StartBrk);
        Assert.Equal(0x55555555a000UL, fx.Mm.Brk);
    }

    [Fact]
    [Trait("Linux", "arch/x86/mm/mmap.c arch_pick_mmap_layout(): called on a new mm, before anything is mapped")]
    public void PickMmapLayoutOnlyOnANewAddressSpace()
    {
        using var fx = new AddressSpaceFixture();
        fx.Mm.PickMmapLayout(0x7f0000000000);
        Assert.Equal(0x7f0000000000UL, fx.Mm.MmapBase);
        fx.Mm.PickMmapLayout(null);
        Assert.Equal(AddressSpace.ComputeMmapBase(fx.Mm.Config.RlimitStack), fx.Mm.MmapBase);
        using (fx.Mm.MmapLock.Write())
        {
            Assert.Equal(Errno.None, Install(fx.Mm, 0x10000, 0x11000, "rw-p", string.Empty));
        }

        Assert.Throws<KernelBugException>(() => fx.Mm.PickMmapLayout(0x7f0000000000));
    }
}
