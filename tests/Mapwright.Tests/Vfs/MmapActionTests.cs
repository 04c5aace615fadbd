using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.FailPoints;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Xunit;

namespace Mapwright.Tests.Vfs;

/// <summary>The successor form of mmap_complete: the action MmapPrepare records, its success hook and its error
/// hook. Linux: mm/util.c mmap_action_complete().</summary>
public sealed class MmapActionTests
{
    private const ulong Page = PageConstants.PageSize;
    private const ulong Shared = (ulong)MapFlags.Shared;
    private const ulong R = (ulong)Prot.Read;

    /// <summary>A device whose prepare records a PFN remap of the whole range with both hooks, each logging its
    /// call and what the address space held at that moment.</summary>
    private sealed class RemapDevice
    {
        public RemapDevice(Func<Errno, Errno>? errorHook)
        {
            var machine = new Machine();
            Sys = machine.NewProcess(new MmConfig());
            Sys.Mm.FailPoints = new FailPointSet();
            var fop = new FileOperations
            {
                Name = "remap-action",
                MmapPrepare = desc =>
                {
                    desc.ActionRemap(desc.Start, desc.PgOff, desc.End - desc.Start);
                    desc.Action.SuccessHook = vma =>
                    {
                        Calls.Add($"success {vma.Start:x} maps={Sys.Mm.MapCount}");
                        return Errno.None;
                    };
                    if (errorHook is not null)
                    {
                        desc.Action.ErrorHook = err =>
                        {
                            Calls.Add($"error {err} maps={Sys.Mm.MapCount}");
                            return errorHook(err);
                        };
                    }

                    return Errno.None;
                },
            };
            var file = new MappedFile(machine.Devices.NewDeviceInode(fop), "/dev/remap-action", canRead: true, canWrite: true);
            Fd = (ulong)Sys.Files.Install(file);
        }

        public MmSyscalls Sys { get; }

        public ulong Fd { get; }

        public List<string> Calls { get; } = [];

        public SysResult Map() => Sys.Mmap(0, 4 * Page, R, Shared, Fd, 0);
    }

    [Fact]
    [Trait("Linux", "mm/util.c mmap_action_complete: on error, unmap the VMA, then the error hook filters the error")]
    public void FailedRemapUnmapsTheVmaThenTheErrorHookChoosesTheError()
    {
        var d = new RemapDevice(_ => Errno.EAGAIN);
        d.Sys.Mm.FailPoints!.Arm("remap_pfn_range", 1);

        Assert.Equal(Errno.EAGAIN, d.Map().Errno);
        Assert.Equal(["error ENOMEM maps=0"], d.Calls);
        Assert.Equal(0, d.Sys.Mm.MapCount);
        Assert.Equal(0UL, d.Sys.Mm.TotalVm);
        Assert.Equal(0, d.Sys.Mm.Pages.Count);
        d.Sys.Mm.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/util.c mmap_action_complete: without an error hook the action's error is mmap()'s")]
    public void FailedRemapWithoutAnErrorHookReportsItsOwnError()
    {
        var d = new RemapDevice(errorHook: null);
        d.Sys.Mm.FailPoints!.Arm("remap_pfn_range", 1);

        Assert.Equal(Errno.ENOMEM, d.Map().Errno);
        Assert.Empty(d.Calls);
        Assert.Equal(0, d.Sys.Mm.MapCount);
        d.Sys.Mm.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/util.c mmap_action_complete: a successful action calls the success hook, never the error hook")]
    public void SuccessfulRemapCallsTheSuccessHookAndNotTheErrorHook()
    {
        var d = new RemapDevice(_ => Errno.EAGAIN);

        SysResult r = d.Map();
        Assert.False(r.IsError, r.ToString());
        Assert.Equal([$"success {r.Value:x} maps=1"], d.Calls);
        Vma vma = d.Sys.Mm.LookupVma(r.Value)!;
        Assert.True((vma.Flags & VmFlags.PfnMap) != 0);
        Assert.Equal(4, d.Sys.Mm.Pages.Count);
        d.Sys.Mm.Validate();
    }

    [Fact]
    [Trait("Linux", "mm/util.c mmap_action_complete: VM_WARN_ON_ONCE(!err) after the error hook")]
    public void AnErrorHookThatClearsTheErrorIsABug()
    {
        var d = new RemapDevice(_ => Errno.None);
        d.Sys.Mm.FailPoints!.Arm("remap_pfn_range", 1);

        KernelBugException e = Assert.Throws<KernelBugException>(() => d.Map());
        Assert.Contains("error hook cleared the error ENOMEM", e.Message, StringComparison.Ordinal);
        Assert.Equal(["error ENOMEM maps=0"], d.Calls);
    }
}
