namespace Mapwright.Abi;

/// <summary>madvise advice values. Linux: include/uapi/asm-generic/mman-common.h.</summary>
public enum Madvise
{
    Normal = 0,
    Random = 1,
    Sequential = 2,
    WillNeed = 3,
    DontNeed = 4,
    Free = 8,
    Remove = 9,
    DontFork = 10,
    DoFork = 11,
    Mergeable = 12,
    Unmergeable = 13,
    HugePage = 14,
    NoHugePage = 15,
    DontDump = 16,
    DoDump = 17,
    WipeOnFork = 18,
    KeepOnFork = 19,
    Cold = 20,
    PageOut = 21,
    PopulateRead = 22,
    PopulateWrite = 23,
    DontNeedLocked = 24,
    Collapse = 25,
    GuardInstall = 102,
    GuardRemove = 103,
    HwPoison = 100,
    SoftOffline = 101,
}
