namespace Mapwright.Contract;

/// <summary>memfd seals. Linux: include/uapi/linux/fcntl.h F_SEAL_*.</summary>
[Flags]
public enum FileSeals
{
    None = 0,
    Seal = 0x0001,
    Shrink = 0x0002,
    Grow = 0x0004,
    Write = 0x0008,
    FutureWrite = 0x0010,
    Exec = 0x0020,
}
