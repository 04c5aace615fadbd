namespace Mapwright.Abi;

/// <summary>x86-64 page and address-space constants (4-level paging, 47-bit user space).
/// Linux: arch/x86/include/asm/page_64_types.h, processor.h.</summary>
public static class PageConstants
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;
    public const ulong PageMask = ~(PageSize - 1);

    /// <summary>PMD_SIZE: 2 MiB, the transparent huge page size.</summary>
    public const ulong PmdSize = 2UL << 20;

    /// <summary>TASK_SIZE_MAX and DEFAULT_MAP_WINDOW with 4-level paging: (1 &lt;&lt; 47) - PAGE_SIZE.</summary>
    public const ulong TaskSize = (1UL << 47) - PageSize;

    /// <summary>stack_guard_gap default: 256 pages. Linux: mm/mmap.c stack_guard_gap.</summary>
    public const ulong StackGuardGap = 256UL << PageShift;

    public static ulong PageAlign(ulong value) => (value + PageSize - 1) & PageMask;

    public static bool IsPageAligned(ulong value) => (value & (PageSize - 1)) == 0;
}
