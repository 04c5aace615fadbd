namespace Mapwright.Abi;

/// <summary>mremap flags. Linux: include/uapi/linux/mman.h.</summary>
[Flags]
public enum MremapFlags : ulong
{
    None = 0,
    MayMove = 1,
    Fixed = 2,
    DontUnmap = 4,
}
