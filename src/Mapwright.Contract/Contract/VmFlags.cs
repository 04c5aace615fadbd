namespace Mapwright.Contract;

/// <summary>VMA flags with Linux's x86-64 bit values. Linux: include/linux/mm.h VM_*.</summary>
[Flags]
public enum VmFlags : ulong
{
    None = 0,
    Read = 0x1,
    Write = 0x2,
    Exec = 0x4,
    Shared = 0x8,
    MayRead = 0x10,
    MayWrite = 0x20,
    MayExec = 0x40,
    MayShare = 0x80,
    GrowsDown = 0x100,
    UffdMissing = 0x200,
    PfnMap = 0x400,

    /// <summary>MADV_GUARD_INSTALL was used on the VMA: it may hold guard markers, so fork copies its page
    /// tables. Sticky across merges and ignored by them. Linux 6.18: VM_MAYBE_GUARD ("gu").</summary>
    MaybeGuard = 0x800,
    UffdWp = 0x1000,
    Locked = 0x2000,
    Io = 0x4000,
    SeqRead = 0x8000,
    RandRead = 0x10000,
    DontCopy = 0x20000,
    DontExpand = 0x40000,
    LockOnFault = 0x80000,
    Account = 0x100000,
    NoReserve = 0x200000,
    HugeTlb = 0x400000,
    Sync = 0x800000,
    Pat = 0x1000000,
    WipeOnFork = 0x2000000,
    DontDump = 0x4000000,
    SoftDirty = 0x8000000,
    MixedMap = 0x10000000,
    HugePage = 0x20000000,
    NoHugePage = 0x40000000,
    Mergeable = 0x80000000,
    ShadowStack = 1UL << 37,
    Droppable = 1UL << 40,
    Sealed = 1UL << 42,

    /// <summary>VM_ACCESS_FLAGS.</summary>
    AccessFlags = Read | Write | Exec,

    /// <summary>VM_LOCKED_MASK.</summary>
    LockedMask = Locked | LockOnFault,

    /// <summary>VM_SPECIAL: never merged. Linux: include/linux/mm.h.</summary>
    Special = Io | DontExpand | PfnMap | MixedMap,

    /// <summary>VM_STICKY: kept by a merge if any merged part had them, and ignored when deciding to merge
    /// (VM_IGNORE_MERGE).</summary>
    Sticky = SoftDirty | MaybeGuard,

    /// <summary>VM_STACK on x86-64 (stacks grow down).</summary>
    Stack = GrowsDown,

    /// <summary>VM_STARTGAP_FLAGS: VMAs with a guard gap below them.</summary>
    StartGapFlags = GrowsDown | ShadowStack,
}
