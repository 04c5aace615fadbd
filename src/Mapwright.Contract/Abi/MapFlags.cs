namespace Mapwright.Abi;

/// <summary>mmap flags on x86-64. Linux: include/uapi/asm-generic/mman-common.h, linux/mman.h, asm/mman.h.</summary>
[Flags]
public enum MapFlags : ulong
{
    None = 0,
    Shared = 0x01,
    Private = 0x02,
    SharedValidate = 0x03,
    Droppable = 0x08,
    TypeMask = 0x0f,
    Fixed = 0x10,
    Anonymous = 0x20,
    Bit32 = 0x40,
    Above4G = 0x80,
    GrowsDown = 0x0100,
    DenyWrite = 0x0800,
    Executable = 0x1000,
    Locked = 0x2000,
    NoReserve = 0x4000,
    Populate = 0x8000,
    NonBlock = 0x10000,
    Stack = 0x20000,
    HugeTlb = 0x40000,
    Sync = 0x80000,
    FixedNoReplace = 0x100000,
    Uninitialized = 0x4000000,
}
