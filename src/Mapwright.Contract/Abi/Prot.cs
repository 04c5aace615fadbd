namespace Mapwright.Abi;

/// <summary>mmap/mprotect protection bits. Linux: include/uapi/asm-generic/mman-common.h.</summary>
[Flags]
public enum Prot : ulong
{
    None = 0,
    Read = 0x1,
    Write = 0x2,
    Exec = 0x4,
    Sem = 0x8,
    GrowsDown = 0x01000000,
    GrowsUp = 0x02000000,
}
