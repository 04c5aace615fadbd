using Mapwright.Abi;

namespace Mapwright.Tests.Harness;

/// <summary>Raw syscall arguments as a C caller passes them.</summary>
internal static class SyscallArgs
{
    public const ulong Page = PageConstants.PageSize;

    /// <summary>fd -1.</summary>
    public const ulong NoFd = ulong.MaxValue;

    public const ulong ProtNone = (ulong)Prot.None;
    public const ulong ProtR = (ulong)Prot.Read;
    public const ulong ProtRw = (ulong)(Prot.Read | Prot.Write);

    public const ulong PrivateAnon = (ulong)(MapFlags.Private | MapFlags.Anonymous);
    public const ulong SharedAnon = (ulong)(MapFlags.Shared | MapFlags.Anonymous);
    public const ulong Fixed = (ulong)MapFlags.Fixed;
    public const ulong FixedNoReplace = (ulong)MapFlags.FixedNoReplace;
    public const ulong Populate = (ulong)MapFlags.Populate;
    public const ulong Locked = (ulong)MapFlags.Locked;

    public const ulong MayMove = (ulong)MremapFlags.MayMove;
    public const ulong RemapFixed = (ulong)MremapFlags.Fixed;
    public const ulong DontUnmap = (ulong)MremapFlags.DontUnmap;

    /// <summary>mmap_base of a fresh process with an 8 MiB stack and no randomisation. Linux: arch/x86/mm/mmap.c.</summary>
    public const ulong MmapBase = 0x7ffff7fff000;
}
