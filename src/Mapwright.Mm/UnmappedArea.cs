using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>Choosing where a new mapping goes. Linux: mm/mmap.c __get_unmapped_area(), mm/vma.c
/// unmapped_area() / unmapped_area_topdown(), arch/x86/kernel/sys_x86_64.c.</summary>
internal static class UnmappedArea
{
    /// <summary>
    /// Picks the address for a mapping of <paramref name="len"/> bytes. Returns the address or the errno.
    /// Linux: mm/mmap.c __get_unmapped_area(), including the THP alignment for anonymous mappings.
    /// </summary>
    internal static SysResult GetUnmappedArea(AddressSpace mm, bool hasFile, bool fileIsShmem, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags) =>
        GetUnmappedArea(mm, hasFile, fileIsShmem, fileThpAligned: false, addr, len, pgoff, flags, vmFlags);

    /// <summary>As above; <paramref name="fileThpAligned"/> is a file whose get_unmapped_area is
    /// thp_get_unmapped_area (any length, aligned at its offset). A <see cref="AddressSpace.Follow"/> placement is consulted by
    /// the first search that is not MAP_FIXED, after the search's own checks.</summary>
    internal static SysResult GetUnmappedArea(AddressSpace mm, bool hasFile, bool fileIsShmem, bool fileThpAligned, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags)
    {
        SysResult result = GetUnmappedAreaCore(mm, hasFile, fileIsShmem, fileThpAligned, addr, len, pgoff, flags, vmFlags, out bool thpAligned);
        return mm.Follow is { Consulted: false } follow && (flags & MapFlags.Fixed) == 0
            ? PlacementFollow.FollowPlacement(mm, follow, result, addr, len, hasFile ? pgoff : 0, flags, vmFlags, thpAligned)
            : result;
    }

    /// <summary>The search itself; <paramref name="thpAligned"/> is true when the answer was aligned for THP (the
    /// padded search succeeded). Linux: mm/mmap.c __get_unmapped_area().</summary>
    private static SysResult GetUnmappedAreaCore(AddressSpace mm, bool hasFile, bool fileIsShmem, bool fileThpAligned, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags, out bool thpAligned)
    {
        thpAligned = false;
        if (len > PageConstants.TaskSize)
        {
            return Errno.ENOMEM;
        }

        SysResult result;
        bool shmemArea = hasFile ? fileIsShmem : (flags & MapFlags.Shared) != 0 && (flags & MapFlags.TypeMask) != MapFlags.Private;
        if (!hasFile)
        {
            pgoff = 0;
        }

        if (hasFile && fileThpAligned)
        {
            result = ThpGetUnmappedArea(mm, addr, len, pgoff, flags, vmFlags, out thpAligned);
        }
        else if (!hasFile && !shmemArea && addr == 0 && (len & (PageConstants.PmdSize - 1)) == 0)
        {
            result = ThpGetUnmappedArea(mm, addr, len, pgoff, flags, vmFlags, out thpAligned);
        }
        else
        {
            // shmem_get_unmapped_area() only aligns when shmem huge pages are enabled (off by default).
            result = ArchGetUnmappedArea(mm, addr, len, pgoff, flags, vmFlags);
        }

        // IS_ERR_VALUE(): only [-4095, -1] is an error; a MAP_FIXED address with the top bit set is an address,
        // which the TASK_SIZE check below refuses.
        if (result.IsError)
        {
            return result;
        }

        ulong a = result.Value;
        if (a > PageConstants.TaskSize - len)
        {
            return Errno.ENOMEM;
        }

        if (!PageConstants.IsPageAligned(a))
        {
            return Errno.EINVAL;
        }

        // security_mmap_addr(): cap_mmap_addr() refuses addresses below mmap_min_addr without CAP_SYS_RAWIO.
        if (a < mm.Config.MmapMinAddr && !mm.Config.CapSysRawio)
        {
            return Errno.EPERM;
        }

        return result;
    }

    /// <summary>Linux: mm/huge_memory.c __thp_get_unmapped_area() and thp_get_unmapped_area_vmflags().</summary>
    private static SysResult ThpGetUnmappedArea(AddressSpace mm, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags, out bool aligned)
    {
        const ulong size = PageConstants.PmdSize;
        aligned = false;
        ulong off = pgoff << PageConstants.PageShift;
        ulong offEnd = off + len;
        ulong offAlign = (off + size - 1) & ~(size - 1);
        if (!(offEnd <= offAlign || offEnd - offAlign < size))
        {
            ulong lenPad = len + size;
            if (lenPad >= len && off + lenPad >= off)
            {
                SysResult ret = ArchGetUnmappedArea(mm, addr, lenPad, pgoff, flags, vmFlags);
                if (!ret.IsError)
                {
                    ulong r = ret.Value;
                    if (r == addr)
                    {
                        return SysResult.Ok(addr);
                    }

                    aligned = true;
                    ulong offSub = (off - r) & (size - 1);
                    if (mm.TopDown && offSub == 0)
                    {
                        return SysResult.Ok(r + size);
                    }

                    return SysResult.Ok(r + offSub);
                }
            }
        }

        return ArchGetUnmappedArea(mm, addr, len, pgoff, flags, vmFlags);
    }

    /// <summary>Linux: arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area_topdown() / arch_get_unmapped_area().</summary>
    private static SysResult ArchGetUnmappedArea(AddressSpace mm, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags)
    {
        if (!mm.TopDown)
        {
            return ArchGetUnmappedAreaBottomUp(mm, addr, len, pgoff, flags, vmFlags);
        }

        if (len > PageConstants.TaskSize)
        {
            return Errno.ENOMEM;
        }

        if ((flags & MapFlags.Fixed) != 0)
        {
            return SysResult.Ok(addr);
        }

        if ((flags & MapFlags.Bit32) != 0)
        {
            return ArchGetUnmappedAreaBottomUp(mm, addr, len, pgoff, flags, vmFlags);
        }

        if (addr != 0)
        {
            addr &= PageConstants.PageMask;
            if (MmapAddressHintValid(addr, len))
            {
                Vma? vma = mm.Tree.FindVma(addr);
                if (vma is null || addr + len <= vma.StartGap(PageConstants.StackGuardGap))
                {
                    return SysResult.Ok(addr);
                }
            }
        }

        ulong low = (flags & MapFlags.Above4G) != 0 ? 1UL << 32 : PageConstants.PageSize;
        ulong high = mm.MmapBase;
        ulong startGap = (vmFlags & VmFlags.ShadowStack) != 0 ? PageConstants.PageSize : 0;
        if (UnmappedAreaTopDown(mm, len, low, high, startGap, out ulong found))
        {
            return SysResult.Ok(found);
        }

        return ArchGetUnmappedAreaBottomUp(mm, addr, len, pgoff, flags, vmFlags);
    }

    /// <summary>Linux: arch_get_unmapped_area() with find_start_end() (x86-64).</summary>
    private static SysResult ArchGetUnmappedAreaBottomUp(AddressSpace mm, ulong addr, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags)
    {
        ulong begin;
        ulong end;
        if ((flags & MapFlags.Bit32) != 0)
        {
            begin = 0x40000000;
            end = 0x80000000;
        }
        else
        {
            begin = mm.MmapLegacyBase;
            end = PageConstants.TaskSize;
        }

        if (len > end)
        {
            return Errno.ENOMEM;
        }

        if ((flags & MapFlags.Fixed) != 0)
        {
            return SysResult.Ok(addr);
        }

        if (addr != 0)
        {
            addr = PageConstants.PageAlign(addr);
            Vma? vma = mm.Tree.FindVma(addr);
            if (end - len >= addr && (vma is null || addr + len <= vma.StartGap(PageConstants.StackGuardGap)))
            {
                return SysResult.Ok(addr);
            }
        }

        ulong low = (flags & MapFlags.Above4G) != 0 && (flags & MapFlags.Bit32) == 0 ? Math.Max(begin, 1UL << 32) : begin;
        ulong startGap = (vmFlags & VmFlags.ShadowStack) != 0 ? PageConstants.PageSize : 0;
        return UnmappedAreaBottomUp(mm, len, low, end, startGap, out ulong found) ? SysResult.Ok(found) : Errno.ENOMEM;
    }

    /// <summary>Linux: arch/x86/kernel/sys_x86_64.c mmap_address_hint_valid().</summary>
    private static bool MmapAddressHintValid(ulong addr, ulong len)
    {
        if (PageConstants.TaskSize - len < addr)
        {
            return false;
        }

        return (addr > PageConstants.TaskSize) == (addr + len > PageConstants.TaskSize);
    }

    /// <summary>
    /// The highest address at which len bytes fit in [low, high), honouring the guard gap below grows-down VMAs.
    /// Linux: mm/vma.c unmapped_area_topdown().
    /// </summary>
    private static bool UnmappedAreaTopDown(AddressSpace mm, ulong len, ulong low, ulong high, ulong startGap, out ulong addr)
    {
        addr = 0;
        ulong length = len + startGap;
        if (length < len)
        {
            return false;
        }

        if (low < mm.Config.EffectiveMmapMinAddr)
        {
            low = mm.Config.EffectiveMmapMinAddr;
        }

        while (true)
        {
            if (!mm.Tree.FindHighestGap(low, high, length, out ulong gapEnd))
            {
                return false;
            }

            ulong gap = gapEnd - len;
            Vma? next = mm.Tree.FindVma(gapEnd);
            if (next is not null && next.Start < gapEnd)
            {
                next = next.NextVma;
            }

            if (next is not null && (next.Flags & VmFlags.StartGapFlags) != 0)
            {
                ulong sg = next.StartGap(PageConstants.StackGuardGap);
                if (sg < gapEnd)
                {
                    high = sg;
                    continue;
                }
            }

            // vm_end_gap() only differs from vm_end for VM_GROWSUP, which x86 does not have.
            addr = gap;
            return true;
        }
    }

    /// <summary>The lowest fit in [low, high). Linux: mm/vma.c unmapped_area().</summary>
    private static bool UnmappedAreaBottomUp(AddressSpace mm, ulong len, ulong low, ulong high, ulong startGap, out ulong addr)
    {
        addr = 0;
        ulong length = len + startGap;
        if (length < len)
        {
            return false;
        }

        if (low < mm.Config.EffectiveMmapMinAddr)
        {
            low = mm.Config.EffectiveMmapMinAddr;
        }

        while (true)
        {
            if (!mm.Tree.FindLowestGap(low, high, length, out ulong gapStart))
            {
                return false;
            }

            ulong gap = gapStart + startGap;
            Vma? next = mm.Tree.FindVma(gap);
            if (next is not null && (next.Flags & VmFlags.StartGapFlags) != 0)
            {
                ulong sg = next.StartGap(PageConstants.StackGuardGap);
                if (sg < gap + len)
                {
                    low = next.End;
                    continue;
                }
            }

            addr = gap;
            return true;
        }
    }
}
