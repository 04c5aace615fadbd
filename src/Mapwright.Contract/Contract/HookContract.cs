using Mapwright.Abi;

namespace Mapwright.Contract;

/// <summary>The rules of docs/hook-lifecycle.md that are checked before anything changes.</summary>
public static class HookContract
{
    /// <summary>
    /// Rule 1: both Mmap and MmapPrepare, or neither, is ENODEV; MmapComplete without MmapPrepare is EINVAL;
    /// MmapAbort without both MmapPrepare and MmapComplete is EINVAL. Linux: include/linux/fs.h can_mmap_file().
    /// </summary>
    public static Errno ValidateHooks(FileOperations? fop)
    {
        if (fop is null)
        {
            return Errno.ENODEV;
        }

        bool legacy = fop.Mmap is not null;
        bool prepare = fop.MmapPrepare is not null;
        if (legacy == prepare)
        {
            return Errno.ENODEV;
        }

        if (fop.MmapComplete is not null && !prepare)
        {
            return Errno.EINVAL;
        }

        if (fop.MmapAbort is not null && (!prepare || fop.MmapComplete is null))
        {
            return Errno.EINVAL;
        }

        return Errno.None;
    }
}
