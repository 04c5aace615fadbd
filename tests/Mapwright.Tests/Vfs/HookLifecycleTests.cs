using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.Drivers;
using Mapwright.FailPoints;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Mapwright.Vfs;
using Xunit;

namespace Mapwright.Tests.Vfs;

/// <summary>One test per rule of shared/hook-lifecycle.md, and the exhaustive failure-point sweep.</summary>
public sealed class HookLifecycleTests
{
    private const ulong Page = PageConstants.PageSize;
    private const ulong ORdwr = 2;
    private const ulong Shared = (ulong)MapFlags.Shared;
    private const ulong Private = (ulong)MapFlags.Private;
    private const ulong Fixed = (ulong)MapFlags.Fixed;
    private const ulong Anon = (ulong)MapFlags.Anonymous;
    private const ulong Rw = (ulong)(Prot.Read | Prot.Write);
    private const ulong R = (ulong)Prot.Read;

    private sealed class Process
    {
        public Process()
        {
            var machine = new Machine();
            Devices = new ExampleDevices(machine.Devices);
            Sys = machine.NewProcess(new MmConfig());
            Sys.Mm.FailPoints = new FailPointSet();
            Sys.Mm.HookTracer = Hooks.Add;
        }

        public MmSyscalls Sys { get; }

        public ExampleDevices Devices { get; }

        public List<string> Hooks { get; } = [];

        public ulong Open(string path)
        {
            SysResult r = Sys.Openat(unchecked((ulong)-100), path, ORdwr, 0);
            Assert.False(r.IsError, $"open {path}: {r}");
            return r.Value;
        }

        public int Count(string hook) => Hooks.Count(h => h.StartsWith("# hook " + hook + " ", StringComparison.Ordinal));

        public string Last(string hook) => Hooks.Last(h => h.StartsWith("# hook " + hook + " ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bad-both", Errno.ENODEV)]
    [InlineData("bad-neither", Errno.ENODEV)]
    [InlineData("bad-complete-only", Errno.EINVAL)]
    [InlineData("bad-abort-only", Errno.EINVAL)]
    [Trait("Rule", "hook-lifecycle.md rule 1: validation first, no side effects")]
    public void Rule1InvalidHookSetsFailBeforeAnythingChanges(string device, Errno expected)
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/" + device);
        Assert.Equal(0x7ffff7ffe000UL, p.Sys.Mmap(0, Page, R, Private | Anon, ulong.MaxValue, 0).Value);
        string before = p.Sys.Mm.FormatMaps();

        // Even MAP_FIXED over the existing mapping must leave it in place.
        Assert.Equal(expected, p.Sys.Mmap(0x7ffff7ffe000, Page, R, Shared | Fixed, fd, 0).Errno);
        Assert.Equal(before, p.Sys.Mm.FormatMaps());
        Assert.Empty(p.Hooks);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 1: argument errors of mmap() come first, in Linux's order")]
    public void Rule1ArgumentErrorsComeBeforeHookValidation()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/bad-both");
        Assert.Equal(Errno.EINVAL, p.Sys.Mmap(0, 0, R, Shared, fd, 0).Errno);
        Assert.Equal(Errno.EINVAL, p.Sys.Mmap(0, Page, R, Shared, fd, 1).Errno);
        Assert.Equal(Errno.EBADF, p.Sys.Mmap(0, Page, R, Shared, 99, 0).Errno);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 2: a failed MmapPrepare fails mmap(); neither complete nor abort runs")]
    public void Rule2PrepareFailureRunsNeitherCompleteNorAbort()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/ring");
        Assert.Equal(Errno.EINVAL, p.Sys.Mmap(0, Page, R, Shared, fd, 0).Errno);
        Assert.Equal(1, p.Count("mmap_prepare"));
        Assert.Equal(0, p.Count("mmap_complete") + p.Count("mmap_abort"));
        Assert.Equal(0, p.Sys.Mm.MapCount);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 3: after a successful prepare, a later failure runs MmapAbort exactly once")]
    public void Rule3FailureAfterPrepareRunsAbortOnceAndReleasesTheLock()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/pseudolock");
        p.Sys.Mm.FailPoints!.Arm("vma_alloc", 1);
        Assert.Equal(Errno.ENOMEM, p.Sys.Mmap(0, 2 * Page, Rw, Shared, fd, 0).Errno);
        Assert.Equal(1, p.Count("mmap_prepare"));
        Assert.Equal(1, p.Count("mmap_abort"));
        Assert.Equal(0, p.Count("mmap_complete"));
        Assert.Empty(p.Devices.Leaks());
        Assert.Equal(1, p.Devices.PseudolockMutex.Acquisitions);
        Assert.Equal(1, p.Devices.PseudolockMutex.Releases);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 4: MmapComplete receives the VMA of exactly [Start, End), never merged at creation")]
    public void Rule4CompleteSeesItsOwnVmaEvenNextToACompatibleNeighbour()
    {
        var p = new Process();
        // Two mappings of one open pseudolock file, adjacent and with contiguous offsets, would merge by
        // mm/vma.c's rules; the second must still get its own VMA for its MmapComplete.
        ulong lockFd = p.Open("/dev/mapwright/pseudolock");
        ulong a = p.Sys.Mmap(0x500000000, 2 * Page, Rw, Shared | Fixed, lockFd, 0).Value;
        ulong b = p.Sys.Mmap(0x500002000, 2 * Page, Rw, Shared | Fixed, lockFd, 2 * Page).Value;
        Assert.Equal(0x500002000UL, b);
        Vma va = p.Sys.Mm.LookupVma(a)!;
        Vma vb = p.Sys.Mm.LookupVma(b)!;
        Assert.NotSame(va, vb);
        Assert.Equal((0x500002000UL, 0x500004000UL), (vb.Start, vb.End));
        Assert.Contains("# hook mmap_complete file=/dev/mapwright/pseudolock start=0x500002000 end=0x500004000 locks=mmap:write,vma:write -> 0", p.Hooks);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 5: MmapComplete must not release the mmap lock; the model BUGs naming the hook")]
    public void Rule5ReleasingTheMmapLockInCompleteIsABugNamingTheDevice()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/unlocker");
        KernelBugException bug = Assert.Throws<KernelBugException>(() => p.Sys.Mmap(0, Page, R, Shared, fd, 0));
        Assert.Contains("/dev/mapwright/unlocker", bug.Message, StringComparison.Ordinal);
        Assert.Contains("released the mmap lock", bug.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 5/10: hooks run with the mmap lock, complete also with the VMA lock, held for write")]
    public void Rule10HooksSeeTheLocksTheContractPromises()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/ring");
        Assert.False(p.Sys.Mmap(0, 16 * Page, Rw, Shared, fd, 0).IsError);
        Assert.EndsWith("locks=mmap:write -> 0", p.Last("mmap_prepare"), StringComparison.Ordinal);
        Assert.EndsWith("locks=mmap:write,vma:write -> 0", p.Last("mmap_complete"), StringComparison.Ordinal);
        Assert.False(p.Sys.Mm.MmapLock.IsLocked);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 6: a failing MmapComplete unmaps the VMA and fails mmap(); no abort")]
    public void Rule6CompleteFailureUnmapsAndSkipsAbort()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/complete-fails");
        Assert.Equal(Errno.EAGAIN, p.Sys.Mmap(0, 2 * Page, R, Shared, fd, 0).Errno);
        Assert.Equal(0, p.Sys.Mm.MapCount);
        Assert.Equal(0, p.Count("mmap_abort"));
        Assert.Equal(0UL, p.Sys.Mm.TotalVm);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 7: MAP_FIXED tears the old mappings down before prepare; a later failure leaves a hole")]
    public void Rule7FailureAfterTeardownLeavesTheRangeUnmapped()
    {
        var p = new Process();
        Assert.Equal(0x40000000UL, p.Sys.Mmap(0x40000000, 4 * Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0).Value);
        ulong fd = p.Open("/dev/mapwright/complete-fails");
        Assert.Equal(Errno.EAGAIN, p.Sys.Mmap(0x40001000, 2 * Page, R, Shared | Fixed, fd, 0).Errno);
        Assert.Equal("40000000-40001000 rw-p 00000000 00:00 0 \n40003000-40004000 rw-p 00000000 00:00 0 \n", p.Sys.Mm.FormatMaps());
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 7: a failure before the teardown (a limit) leaves the old mappings")]
    public void Rule7FailureBeforeTeardownKeepsTheOldMappings()
    {
        var p = new Process();
        Assert.False(p.Sys.Mmap(0x40000000, 4 * Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0).IsError);
        ulong fd = p.Open("/dev/mapwright/pseudolock");
        p.Sys.Mm.FailPoints!.Arm("may_expand_vm", 1);
        Assert.Equal(Errno.ENOMEM, p.Sys.Mmap(0x40001000, 2 * Page, R, Shared | Fixed, fd, 0).Errno);
        Assert.Equal(0, p.Count("mmap_prepare"));
        Assert.Empty(p.Devices.Leaks());

        // The splits done while gathering stay (as in Linux: vms_abort_munmap_vmas() reattaches the pieces);
        // nothing is unmapped.
        Assert.Equal(
            "40000000-40001000 rw-p 00000000 00:00 0 \n40001000-40003000 rw-p 00000000 00:00 0 \n40003000-40004000 rw-p 00000000 00:00 0 \n",
            p.Sys.Mm.FormatMaps());
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 8: a failing legacy Mmap discards the VMA and fails mmap()")]
    public void Rule8LegacyFailureDiscardsTheVma()
    {
        var p = new Process();

        // A legacy driver that maps its pages and then fails.
        var fop = new FileOperations
        {
            Name = "failing-legacy",
            Mmap = (_, vma) =>
            {
                vma.Mm!.InsertPagesForDriver(vma, vma.Start, vma.End);
                return Errno.EIO;
            },
        };
        var file = new MappedFile(new Inode(0, 5, 999) { IsDevice = true, Fop = fop }, "/dev/failing-legacy", canRead: true, canWrite: true);
        ulong fd = (ulong)p.Sys.Files.Install(file);
        Assert.Equal(Errno.EIO, p.Sys.Mmap(0, 2 * Page, R, Shared, fd, 0).Errno);
        Assert.Equal(0, p.Sys.Mm.MapCount);
        Assert.Equal(0UL, p.Sys.Mm.TotalVm);
        Assert.Equal(0, p.Sys.Mm.Pages.Count);
        Assert.Equal(1, p.Count("mmap"));

        // The working legacy device is mapped after its hook runs once.
        ulong ok = p.Open("/dev/mapwright/legacy");
        Assert.False(p.Sys.Mmap(0, 2 * Page, R, Shared, ok, 0).IsError);
        Assert.Equal(1, p.Sys.Mm.MapCount);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md rule 9: a stacked file's legacy Mmap runs the lower file's prepare then complete at once")]
    public void Rule9StackedFileRunsLowerPrepareAndCompleteThroughTheCompatPath()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/overlay");
        ulong a = p.Sys.Mmap(0, 2 * Page, R, Shared, fd, 0).Value;
        Assert.Equal(new[] { "mmap_prepare", "mmap_complete", "mmap" }, p.Hooks.Select(h => h.Split(' ')[2]).ToArray());
        Vma vma = p.Sys.Mm.LookupVma(a)!;
        Assert.Equal("/dev/mapwright/overlay-lower", vma.File!.Path);
        Assert.True((vma.Flags & VmFlags.DontExpand) != 0);
        var vec = new List<byte>();
        Assert.False(p.Sys.Mincore(a, 2 * Page, true, vec).IsError);
        Assert.Equal(new byte[] { 1, 1 }, vec);
    }

    [Fact]
    [Trait("Rule", "devices.md ring: 16 pages only, VM_DONTEXPAND, resident right after mmap")]
    public void RingIsResidentRightAfterMmap()
    {
        var p = new Process();
        ulong fd = p.Open("/dev/mapwright/ring");
        ulong a = p.Sys.Mmap(0, 16 * Page, Rw, Shared, fd, 0).Value;
        var vec = new List<byte>();
        Assert.False(p.Sys.Mincore(a, 16 * Page, true, vec).IsError);
        Assert.All(vec, b => Assert.Equal(1, b));
        Assert.Equal(Errno.EINVAL, p.Sys.Mmap(0, 16 * Page, Rw, Shared, fd, Page).Errno);
        Assert.Equal(Errno.EFAULT, p.Sys.Mremap(a, 16 * Page, 32 * Page, 0, 0).Errno);
    }

    public static TheoryData<string, string, bool> SweepCases()
    {
        var data = new TheoryData<string, string, bool>();
        string[] devices = ["ring", "pseudolock", "mem", "mem-action", "legacy", "overlay", "complete-fails", "memfd", "/dev/zero"];
        string[] points = ["none", .. FailPointSet.KnownPoints];
        foreach (string d in devices)
        {
            foreach (string f in points)
            {
                data.Add(d, f, false);
                data.Add(d, f, true);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(SweepCases))]
    [Trait("Rule", "hook-lifecycle.md failure points: every device x every point x (fresh range | MAP_FIXED over a mapping) keeps rule 3, no leak, invariants")]
    public void EveryFailurePointKeepsExactlyOnceAndLeaksNothing(string device, string point, bool overExisting)
    {
        var p = new Process();
        ulong fd;
        if (device == "memfd")
        {
            fd = p.Sys.MemfdCreate("sweep", 0).Value;
            Assert.False(p.Sys.Ftruncate(fd, 16 * Page).IsError);
        }
        else
        {
            fd = p.Open(device.StartsWith('/') ? device : "/dev/mapwright/" + device);
        }

        const ulong at = 0x40000000;
        if (overExisting)
        {
            // Private writable, so that vm_enough_memory is reached; wider than the new mapping, so that the
            // teardown splits it.
            Assert.False(p.Sys.Mmap(at - Page, 18 * Page, Rw, Private | Anon | Fixed, ulong.MaxValue, 0).IsError);
        }

        if (point != "none")
        {
            p.Sys.Mm.FailPoints!.Arm(point, 1);
        }

        ulong flags = (device == "/dev/zero" ? Private : Shared) | (overExisting ? Fixed : 0);
        SysResult r = p.Sys.Mmap(overExisting ? at : 0, 16 * Page, device == "mem" || device == "mem-action" ? R : Rw, flags, fd, 0);

        // Rule 3: after each successful prepare at most one of complete and abort runs, and exactly one when
        // the driver provides both (pseudolock; overlay's lower file completes through the compat path).
        int prepares = p.Hooks.Count(h => h.StartsWith("# hook mmap_prepare ", StringComparison.Ordinal) && h.EndsWith("-> 0", StringComparison.Ordinal));
        int ends = p.Count("mmap_complete") + p.Count("mmap_abort");
        string trace = string.Join(" | ", p.Hooks);
        Assert.True(ends <= prepares, $"prepares {prepares}, completes+aborts {ends}: {trace}");
        if (device is "pseudolock")
        {
            Assert.True(ends == prepares, $"prepares {prepares}, completes+aborts {ends}: {trace}");
        }

        if (!r.IsError && device is "ring" or "pseudolock" or "mem" or "complete-fails" or "overlay")
        {
            Assert.Equal(1, p.Count("mmap_complete"));
        }

        Assert.Empty(p.Devices.Leaks());
        p.Sys.Mm.Validate();
        Assert.False(p.Sys.Mm.MmapLock.IsLocked);
        if (!r.IsError)
        {
            Vma vma = p.Sys.Mm.LookupVma(r.Value)!;
            Assert.True(vma.Start <= r.Value && vma.End >= r.Value + (16 * Page));
        }
        else if (overExisting && point is "split_vma" or "may_expand_vm" or "vm_enough_memory" && p.Sys.Mm.FailPoints!.Fired(point))
        {
            // Rule 7: a failure before the teardown (a split while gathering, a limit, accounting) leaves the old mapping.
            Assert.NotNull(p.Sys.Mm.LookupVma(at));
        }
        else if (overExisting)
        {
            // Rule 7: a failure after the teardown (a hook, an allocation) leaves the range unmapped.
            Assert.Null(p.Sys.Mm.FindVma(at) is { } v && v.Start < at + (16 * Page) ? v : null);
        }
    }
}
