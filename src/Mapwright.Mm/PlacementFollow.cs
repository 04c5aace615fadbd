using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// Following the addresses a kernel with address randomisation on chose (<c>mapwright run --follow-addresses</c>):
/// a logged placement is taken when Linux could have chosen it with some random layout, refused with a reason when
/// it could not. The rules are those of the search that did not run here: free, page-aligned, inside
/// [mmap_min_addr, TASK_SIZE), clear of the stack guard gap, aligned as THP aligns the mapping, below the highest
/// mmap_base randomisation gives; a free hint is where Linux maps.
/// </summary>
internal static class PlacementFollow
{
    /// <summary>x86-64 ELF_ET_DYN_BASE, page-aligned: where execve puts the break of an ET_DYN program run without
    /// an interpreter (ld.so run directly, static-pie). Linux: arch/x86/include/asm/elf.h, fs/binfmt_elf.c.</summary>
    internal const ulong ElfEtDynBrk = 0x555555555000;

    /// <summary>The range arch_randomize_brk() adds to the break on x86-64 (32 MiB for 32-bit tasks).
    /// Linux: arch/x86/kernel/process.c arch_randomize_brk().</summary>
    internal const ulong BrkRandomRange = 1UL << 30;

    /// <summary>The range arch_mmap_rnd() adds to a PIE's load bias and takes from mmap_base on x86-64: 2^32 pages,
    /// for vm.mmap_rnd_bits at its maximum (the default is 28; distributions raise it, and it can change at run
    /// time). Linux: arch/x86/mm/mmap.c arch_mmap_rnd(), arch/x86/Kconfig ARCH_MMAP_RND_BITS_MAX.</summary>
    internal const ulong PieRandomRange = 1UL << (32 + PageConstants.PageShift);

    /// <summary>The most mmap_base() leaves below the stack beyond its limit and guard gap for the stack's own random
    /// shift on x86-64 (stack_maxrandom_size(): 2^22 pages). Linux: arch/x86/mm/mmap.c mmap_base().</summary>
    private const ulong StackRandomGap = 1UL << (22 + PageConstants.PageShift);

    private const ulong Map32BitBegin = 0x40000000;
    private const ulong Map32BitEnd = 0x80000000;

    /// <summary>
    /// The placement search's answer when a <see cref="PlacementToFollow"/> is given: its address if Linux could have
    /// chosen it, else <paramref name="own"/> with the refusal recorded. <paramref name="hint"/> is the search's hint
    /// (0 for none), <paramref name="pgoff"/> the file offset in pages (0 for anonymous memory),
    /// <paramref name="thpAligned"/> whether the search aligned its answer for THP.
    /// Linux: the conditions of mm/mmap.c __get_unmapped_area(), arch/x86/kernel/sys_x86_64.c
    /// arch_get_unmapped_area_topdown(), mm/vma.c unmapped_area_topdown(), mm/huge_memory.c
    /// __thp_get_unmapped_area(), with the randomised bases of arch/x86/mm/mmap.c left open.
    /// </summary>
    /// <remarks>Preconditions: the search is not MAP_FIXED; the mmap lock is held (write).
    /// Postconditions: <paramref name="follow"/> is consulted, and followed or refused.</remarks>
    internal static SysResult FollowPlacement(AddressSpace mm, PlacementToFollow follow, SysResult own, ulong hint, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags, bool thpAligned)
    {
        follow.Consulted = true;
        string? refusal = PlacementRefusal(mm, follow.Address, own, hint, len, pgoff, flags, vmFlags, thpAligned);
        if (refusal is not null)
        {
            follow.Refusal = refusal;
            return own;
        }

        follow.Followed = true;
        return SysResult.Ok(follow.Address);
    }

    /// <summary>Why Linux could not have placed [<paramref name="addr"/>, +<paramref name="len"/>) here; null when
    /// it could.</summary>
    private static string? PlacementRefusal(AddressSpace mm, ulong addr, SysResult own, ulong hint, ulong len, ulong pgoff, MapFlags flags, VmFlags vmFlags, bool thpAligned)
    {
        if (!PageConstants.IsPageAligned(addr))
        {
            return $"the logged address 0x{addr:x} is not page-aligned";
        }

        ulong low = mm.Config.EffectiveMmapMinAddr;
        if (len > PageConstants.TaskSize || addr < low || addr > PageConstants.TaskSize - len)
        {
            return $"the logged range 0x{addr:x}-0x{addr + len:x} is outside [mmap_min_addr 0x{low:x}, TASK_SIZE 0x{PageConstants.TaskSize:x})";
        }

        // A hint the search took is free here; Linux takes a free hint whatever its random bases.
        hint &= PageConstants.PageMask;
        if (hint != 0 && !own.IsError && own.Value == hint && addr != hint)
        {
            return $"the hint 0x{hint:x} is free in the model, and Linux maps a free hint where it points";
        }

        // A shadow stack keeps a guard page below itself (VM_SHADOW_STACK's start gap).
        ulong startGap = (vmFlags & VmFlags.ShadowStack) != 0 ? PageConstants.PageSize : 0;
        if (mm.Tree.FindIntersection(addr - Math.Min(addr, startGap), addr + len) is { } overlap)
        {
            return $"the logged range 0x{addr:x}-0x{addr + len:x} overlaps {overlap.Start:x}-{overlap.End:x} in the model";
        }

        if (mm.Tree.FindVma(addr + len) is { } next && next.StartGap(PageConstants.StackGuardGap) < addr + len)
        {
            return $"the logged range 0x{addr:x}-0x{addr + len:x} reaches into the guard gap below {next.Start:x}-{next.End:x} in the model";
        }

        if (addr == hint)
        {
            return null;
        }

        ulong off = pgoff << PageConstants.PageShift;
        if (thpAligned && ((addr - off) & (PageConstants.PmdSize - 1)) != 0)
        {
            string at = off != 0 ? $" at file offset 0x{off:x}" : string.Empty;
            return $"Linux aligns this mapping to 2 MiB{at} for transparent huge pages: the logged address 0x{addr:x} is not";
        }

        if ((flags & MapFlags.Bit32) != 0 && (addr < Map32BitBegin || addr + len > Map32BitEnd))
        {
            return $"MAP_32BIT places in [0x{Map32BitBegin:x}, 0x{Map32BitEnd:x}): the logged range 0x{addr:x}-0x{addr + len:x} is not";
        }

        if ((flags & MapFlags.Above4G) != 0 && (flags & MapFlags.Bit32) == 0 && addr < 1UL << 32)
        {
            return $"MAP_ABOVE4G places above 4 GiB: the logged address 0x{addr:x} is not";
        }

        // Randomisation only lowers mmap_base (a random gap and offset below TASK_SIZE - stack gap) and raises the
        // legacy base: a top-down search that fits below the highest mmap_base places below it.
        if (mm.TopDown && (flags & MapFlags.Bit32) == 0 && !own.IsError && own.Value + len <= mm.MmapBase && addr + len > mm.MmapBase)
        {
            return $"the logged range 0x{addr:x}-0x{addr + len:x} ends above mmap_base 0x{mm.MmapBase:x}, the highest randomisation gives";
        }

        if (!mm.TopDown && (flags & MapFlags.Bit32) == 0 && addr < mm.MmapLegacyBase)
        {
            return $"the logged address 0x{addr:x} is below the bottom-up base 0x{mm.MmapLegacyBase:x}, the lowest randomisation gives";
        }

        return null;
    }

    /// <summary>
    /// The first brk call since execve in a log captured with randomisation on: when its result
    /// (<paramref name="logged"/>) shows the break unchanged (brk(NULL), or a refused move), it is the break execve
    /// chose, and this address space takes it if Linux could have chosen it: page-aligned, free, and inside the
    /// window arch_randomize_brk() draws from: [end of bss + one page, + 1 GiB), or for an ET_DYN program run
    /// without an interpreter [ELF_ET_DYN_BASE, + 1 GiB). Returns why not, or null (taken, or nothing to follow:
    /// the break was already shown, the call moved it, the heap exists).
    /// Linux: fs/binfmt_elf.c load_elf_binary() ("brk" handling), arch/x86/kernel/process.c arch_randomize_brk(),
    /// mm/util.c randomize_page().
    /// </summary>
    /// <remarks>Preconditions: called before the brk call it stands for. Postconditions: <see cref="AddressSpace.BrkShown"/>.</remarks>
    internal static string? FollowBrk(AddressSpace mm, ulong requested, ulong logged)
    {
        using var writeLock = mm.MmapLock.Write();
        if (mm.BrkShown)
        {
            return null;
        }

        mm.BrkShown = true;
        if ((requested != 0 && requested == logged) || logged == mm.Brk || mm.Brk != mm.StartBrk)
        {
            return null;
        }

        string? refusal = BrkRefusal(mm, logged);
        if (refusal is null)
        {
            mm.StartBrk = mm.Brk = logged;
        }

        return refusal;
    }

    private static string? BrkRefusal(AddressSpace mm, ulong brk)
    {
        if (!PageConstants.IsPageAligned(brk))
        {
            return $"the logged break 0x{brk:x} is not page-aligned, as execve's random break is";
        }

        if (brk < mm.Config.EffectiveMmapMinAddr || brk >= PageConstants.TaskSize)
        {
            return $"the logged break 0x{brk:x} is outside [mmap_min_addr, TASK_SIZE)";
        }

        if (mm.Tree.FindVma(brk) is { } vma && vma.Start <= brk)
        {
            return $"the logged break 0x{brk:x} is inside {vma.Start:x}-{vma.End:x} in the model";
        }

        ulong afterBss = mm.StartBrk + PageConstants.PageSize;
        bool afterExecutable = brk >= afterBss && brk - afterBss < BrkRandomRange;
        bool etDyn = brk >= ElfEtDynBrk && brk - ElfEtDynBrk < BrkRandomRange;

        // A PIE not yet placed moves by up to PieRandomRange, and its bss end with it: the program is moved to
        // its place when the log names it (FollowImage), which checks the break against it then.
        bool pie = PendingImage(mm, Exec.ExecImageKind.Program) is not null && brk >= afterBss && brk - afterBss < PieRandomRange + BrkRandomRange;
        if (!afterExecutable && !etDyn && !pie)
        {
            string pieWindow = PendingImage(mm, Exec.ExecImageKind.Program) is not null
                ? $", [0x{afterBss:x}, 0x{afterBss + PieRandomRange + BrkRandomRange:x}) after a randomly placed PIE's bss"
                : string.Empty;
            return $"the logged break 0x{brk:x} is outside the windows execve's randomisation draws from: [0x{afterBss:x}, 0x{afterBss + BrkRandomRange:x}) after the bss, [0x{ElfEtDynBrk:x}, 0x{ElfEtDynBrk + BrkRandomRange:x}) for ET_DYN without an interpreter{pieWindow}";
        }

        return null;
    }

    private static Exec.ExecImage? PendingImage(AddressSpace mm, Exec.ExecImageKind kind)
    {
        foreach (Exec.ExecImage image in mm.ExecImages ?? [])
        {
            if (image.Kind == kind && !image.Placed)
            {
                return image;
            }
        }

        return null;
    }

    /// <summary>
    /// A call with a successful result in a log captured with randomisation on names [<paramref name="addr"/>,
    /// +<paramref name="len"/>), which nothing maps here: when that is exactly the RELRO pages of the PIE program
    /// or of the interpreter execve mapped (ld.so's mprotect(PROT_READ) of them, its first call that names the
    /// file's addresses), the file is moved there, every VMA by the same distance, with its pages, as Linux could
    /// have loaded it: the move keeps the PIE's load bias in [ELF_ET_DYN_BASE, + 2^32 pages) and a multiple of its
    /// p_align, with the logged break within 1 GiB after its bss; the interpreter ending where a random mmap_base can
    /// be; both on free addresses, with nothing else mapped among their segments. Returns why not (a file with RELRO pages of that length could not be there), or null
    /// (moved, or nothing to follow).
    /// The moved program's auxiliary vector on the stack (AT_PHDR, AT_ENTRY, AT_BASE) keeps the model's addresses
    /// (docs/divergences.md).
    /// Linux: fs/binfmt_elf.c load_elf_binary(), load_elf_interp(); arch/x86/mm/mmap.c arch_mmap_rnd(); glibc
    /// elf/dl-reloc.c _dl_protect_relro().
    /// </summary>
    /// <remarks>Preconditions: called before the call it stands for, by no caller holding the mmap lock.
    /// Postconditions: a moved file is placed (<see cref="Exec.ExecImage.Placed"/>); the others are as they were.</remarks>
    internal static string? FollowImage(AddressSpace mm, ulong addr, ulong len)
    {
        using var writeLock = mm.MmapLock.Write();
        Exec.ExecImage[]? images = mm.ExecImages;
        if (images is null || len == 0 || !PageConstants.IsPageAligned(addr) || len > PageConstants.TaskSize
            || addr > PageConstants.TaskSize - PageConstants.PageAlign(len))
        {
            return null;
        }

        len = PageConstants.PageAlign(len);
        if (mm.Tree.FindIntersection(addr, addr + len) is not null)
        {
            return null;
        }

        for (int i = 0; i < images.Length; i++)
        {
            Exec.ExecImage image = images[i];
            if (image.Placed || image.RelroLength != len)
            {
                continue;
            }

            // The first file whose RELRO pages have this length is the one ld.so protected (the program's come
            // before its own): another file of the same length is not tried in its place.
            ulong delta = unchecked(addr - image.RelroStart);
            string? refusal = ImageRefusal(mm, image, delta);
            if (refusal is not null)
            {
                return refusal;
            }

            MoveImage(mm, image, delta);
            images[i] = image with
            {
                Start = unchecked(image.Start + delta),
                End = unchecked(image.End + delta),
                RelroStart = addr,
                RelroEnd = addr + len,
                BrkBase = image.Kind == Exec.ExecImageKind.Program ? unchecked(image.BrkBase + delta) : 0,
                Placed = true,
                Vmas = [.. image.Vmas.Select(v => (unchecked(v.Start + delta), unchecked(v.End + delta)))],
            };
            return null;
        }

        return null;
    }

    /// <summary>Why <paramref name="image"/> could not lie <paramref name="delta"/> bytes (modulo 2^64) from where
    /// the model loaded it; null when it could.</summary>
    private static string? ImageRefusal(AddressSpace mm, Exec.ExecImage image, ulong delta)
    {
        string what = image.Kind == Exec.ExecImageKind.Program ? "the program" : "the interpreter";
        ulong start = unchecked(image.Start + delta), end = unchecked(image.End + delta);
        if (end < start || start < mm.Config.EffectiveMmapMinAddr || end > PageConstants.TaskSize)
        {
            return $"{what} with these RELRO pages would lie outside [mmap_min_addr, TASK_SIZE)";
        }

        if (start < image.End && image.Start < end)
        {
            return $"{what} with these RELRO pages would overlap where the model loaded it, 0x{image.Start:x}-0x{image.End:x}";
        }

        if (mm.Tree.FindIntersection(start, end) is { } overlap)
        {
            return $"{what} with these RELRO pages would lie at 0x{start:x}-0x{end:x}, over {overlap.Start:x}-{overlap.End:x} in the model";
        }

        if (image.Kind == Exec.ExecImageKind.Program)
        {
            // ELF_ET_DYN_BASE plus the random offset, aligned down: the aligned bias moves by a multiple of the
            // alignment, up to the range plus one alignment step (ELF_ET_DYN_BASE itself is not aligned).
            if (delta >= PieRandomRange + image.Alignment || delta % image.Alignment != 0)
            {
                return $"the program with these RELRO pages would be loaded 0x{delta:x} bytes above ELF_ET_DYN_BASE's place: Linux adds a multiple of its alignment 0x{image.Alignment:x} below 0x{PieRandomRange + image.Alignment:x}";
            }

            if (!SameVmas(mm, image))
            {
                return "the model has mapped something else among the program's segments";
            }

            ulong afterBss = image.BrkBase + delta + PageConstants.PageSize;
            if (mm.StartBrk != image.BrkBase && (mm.StartBrk < afterBss || mm.StartBrk - afterBss >= BrkRandomRange))
            {
                return $"the program with these RELRO pages would end its bss at 0x{image.BrkBase + delta:x}: the break 0x{mm.StartBrk:x} is not in [0x{afterBss:x}, 0x{afterBss + BrkRandomRange:x}), where Linux puts it";
            }

            if (mm.StartBrk == image.BrkBase && mm.Brk != mm.StartBrk)
            {
                return $"the program's heap already grew from the break the model chose, 0x{mm.StartBrk:x}";
            }
        }
        else if (!SameVmas(mm, image))
        {
            return "the model has mapped something else among the interpreter's segments";
        }
        else if (mm.TopDown && end > mm.MmapBase)
        {
            return $"the interpreter with these RELRO pages would end at 0x{end:x}, above mmap_base 0x{mm.MmapBase:x}, the highest randomisation gives";
        }
        else if (mm.TopDown && mm.MmapBase - end > PieRandomRange + StackRandomGap)
        {
            // ld.so is execve's first top-down mapping: it ends at the random mmap_base, which lies at most the
            // random range and the stack's random gap below the highest one.
            return $"the interpreter with these RELRO pages would end at 0x{end:x}, more than 0x{PieRandomRange + StackRandomGap:x} below mmap_base 0x{mm.MmapBase:x}, lower than randomisation puts mmap_base";
        }
        else if (!mm.TopDown && start < mm.MmapLegacyBase)
        {
            return $"the interpreter with these RELRO pages would start at 0x{start:x}, below the bottom-up base 0x{mm.MmapLegacyBase:x}, the lowest randomisation gives";
        }

        return null;
    }

    /// <summary>The VMAs in the image's span are still the ones execve mapped for it (nothing split them, nothing
    /// else was mapped in the holes an aligned image leaves between its segments).</summary>
    private static bool SameVmas(AddressSpace mm, Exec.ExecImage image)
    {
        int i = 0;
        for (Vma? vma = mm.Tree.FindVma(image.Start); vma is not null && vma.Start < image.End; vma = vma.NextVma, i++)
        {
            if (i >= image.Vmas.Length || image.Vmas[i] != (vma.Start, vma.End))
            {
                return false;
            }
        }

        return i == image.Vmas.Length;
    }

    /// <summary>Moves every VMA of <paramref name="image"/> by <paramref name="delta"/> with its pages, as a
    /// MREMAP_FIXED move each (the destination is free and apart from the source); the program's code bounds and,
    /// while the model's own break stands unused, the break move with it.</summary>
    private static void MoveImage(AddressSpace mm, Exec.ExecImage image, ulong delta)
    {
        foreach ((ulong start, ulong end) in image.Vmas)
        {
            ulong length = end - start;
            SysResult moved = MremapOps.DoMremap(mm, start, length, length, MremapFlags.MayMove | MremapFlags.Fixed, unchecked(start + delta));
            Diagnostics.Bug.On(moved.IsError || moved.Value != unchecked(start + delta), $"moving an exec image's VMA 0x{start:x} by 0x{delta:x}: {moved}");
        }

        if (image.Kind == Exec.ExecImageKind.Program)
        {
            mm.StartCode = unchecked(mm.StartCode + delta);
            mm.EndCode = unchecked(mm.EndCode + delta);
            if (mm.StartBrk == image.BrkBase && mm.Brk == mm.StartBrk)
            {
                mm.StartBrk = mm.Brk = unchecked(image.BrkBase + delta);
            }
        }
    }
}
