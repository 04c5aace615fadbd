namespace Mapwright.Contract;

/// <summary>What the kernel does after the VMA is in place when MmapPrepare recorded an action.
/// Linux (v6.19): include/linux/mm_types.h enum mmap_action_type.</summary>
public enum MmapActionType
{
    Nothing,
    RemapPfn,
    IoRemapPfn,
}
