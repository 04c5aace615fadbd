using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// execve as memory management sees it: the checks that can still fail the call, then a new address space built
/// as Linux 6.18 on x86-64 builds it with address randomisation off — the stack with the strings and the ELF
/// tables, the program's PT_LOAD segments (their bss and zero-filled tail pages), the interpreter placed top down,
/// the vDSO block, the [vsyscall] gate and the program break.
/// Linux: fs/exec.c do_execveat_common(), bprm_execve(), search_binary_handler(); fs/binfmt_elf.c
/// load_elf_binary(), load_elf_interp(), elf_load(), elf_map(), create_elf_tables().
/// </summary>
public static class ExecLoader
{
    /// <summary>ELF_ET_DYN_BASE on x86-64: two thirds of DEFAULT_MAP_WINDOW, where a PIE's first segment goes
    /// (aligned down to its largest p_align). Linux: arch/x86/include/asm/elf.h.</summary>
    public const ulong ElfEtDynBase = PageConstants.TaskSize / 3 * 2;

    /// <summary>PATH_MAX: the longest PT_INTERP the loader reads.</summary>
    private const ulong PathMax = 4096;

    /// <summary>BINPRM_BUF_SIZE: the header bytes prepare_binprm() reads.</summary>
    private const int BinprmBufSize = 256;

    /// <summary>
    /// Runs execve. Before the point of no return the errors are execve's result and nothing is built:
    /// the path's (ENOENT, EACCES, ...), E2BIG, ENOEXEC (not ELF, not x86-64, bad program headers), EIO (a header
    /// cut short), the interpreter's open errors and ELIBBAD (an interpreter that is no x86-64 ELF). Past it
    /// (<see cref="ExecInfo.PastPointOfNoReturn"/>) a failure kills the process in Linux; <paramref name="mm"/> is
    /// then what was built.
    /// </summary>
    /// <remarks>Preconditions: none; the caller's address space is not touched. Postconditions: on success
    /// <paramref name="mm"/> is a new, validated address space of <paramref name="manager"/>.</remarks>
    public static Errno Exec(ExecRequest request, MmConfig config, MemoryManager manager, IExecFileOpener opener, ExecEnvironment environment, out AddressSpace? mm, out ExecInfo info)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(opener);
        ArgumentNullException.ThrowIfNull(environment);
        mm = null;
        info = default;

        // alloc_bprm() opens the file first (Linux 6.8, "execve: open the executable file before doing anything
        // else"), then the strings are counted and copied.
        Errno err = opener.OpenExec(request.Path, out ExecFile? exe);
        if (err != Errno.None)
        {
            return err;
        }

        err = ExecStack.Copy(request, config.RlimitStack, out ExecStack? stack);
        if (err != Errno.None)
        {
            return err;
        }

        // exec_binprm(): binfmt_elf, or binfmt_script handing over to the interpreter, up to 5 rewrites.
        ElfHeader hdr;
        string interpName = request.Filename ?? request.Path;
        for (int depth = 0; ; depth++)
        {
            if (depth > 5)
            {
                return Errno.ELOOP;
            }

            byte[]? buf = exe!.Read(0, BinprmBufSize);
            if (buf is null)
            {
                return Errno.EIO;
            }

            hdr = ElfHeader.Parse(buf);
            if (hdr.IsLoadable)
            {
                break;
            }

            if (!ScriptLoader.IsScript(buf))
            {
                return Errno.ENOEXEC;
            }

            err = ScriptLoader.Load(buf, stack!, ref interpName, opener, out exe);
            if (err != Errno.None)
            {
                return err;
            }
        }

        ElfProgramHeader[]? phdrs = LoadPhdrs(exe!, hdr);
        if (phdrs is null)
        {
            return Errno.ENOEXEC;
        }

        ExecFile? interp = null;
        ElfHeader interpHdr = default;
        bool execStack = false;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type != ElfProgramHeader.PtInterp)
            {
                continue;
            }

            if (ph.FileSize > PathMax || ph.FileSize < 2)
            {
                return Errno.ENOEXEC;
            }

            byte[]? name = exe.Read(ph.Offset, (int)ph.FileSize);
            if (name is null || name.Length != (int)ph.FileSize)
            {
                return Errno.EIO;
            }

            if (name[^1] != 0)
            {
                return Errno.ENOEXEC;
            }

            int nul = Array.IndexOf(name, (byte)0);
            err = opener.OpenExec(System.Text.Encoding.UTF8.GetString(name, 0, nul), out interp);
            if (err != Errno.None)
            {
                return err;
            }

            byte[]? ibuf = interp!.Read(0, ElfHeader.Size);
            if (ibuf is null || ibuf.Length != ElfHeader.Size)
            {
                return Errno.EIO;
            }

            interpHdr = ElfHeader.Parse(ibuf);
            break;
        }

        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type == ElfProgramHeader.PtGnuStack)
            {
                // EXSTACK_ENABLE_X or EXSTACK_DISABLE_X; without the header x86-64 keeps the stack non-executable.
                execStack = (ph.Flags & ElfProgramHeader.PfX) != 0;
            }
        }

        ElfProgramHeader[]? interpPhdrs = null;
        if (interp is not null)
        {
            if (!interpHdr.HasMagic || interpHdr.Machine != ElfHeader.EmX8664)
            {
                return Errno.ELIBBAD;
            }

            interpPhdrs = LoadPhdrs(interp, interpHdr);
            if (interpPhdrs is null)
            {
                return Errno.ELIBBAD;
            }
        }

        // begin_new_exec(): the point of no return.
        var m = new AddressSpace(config, manager);
        mm = m;

        // setup_new_exec() → arch_pick_mmap_layout().
        m.PickMmapLayout(environment.MmapBase);

        using (m.MmapLock.Write())
        {
            err = Build(m, stack!, exe, hdr, phdrs, interp, interpHdr, interpPhdrs, execStack, environment, out ulong entry, out ulong interpBase);
            info = new ExecInfo(true, exe.SetId, entry, interpBase);
        }

        if (err == Errno.None)
        {
            m.CheckInvariants();
        }

        return err;
    }

    private static Errno Build(AddressSpace mm, ExecStack stack, ExecFile exe, ElfHeader hdr, ElfProgramHeader[] phdrs,
        ExecFile? interp, ElfHeader interpHdr, ElfProgramHeader[]? interpPhdrs, bool execStack, ExecEnvironment environment,
        out ulong entry, out ulong interpBase)
    {
        HostExecEnvironment host = environment.Host;
        entry = interpBase = 0;

        // __bprm_mm_init() and setup_arg_pages(): the stack VMA at the top, over the strings' pages plus 128 KiB.
        VmFlags stackFlags = VmFlags.Read | VmFlags.Write | VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec
            | VmFlags.GrowsDown | VmFlags.Account | (execStack ? VmFlags.Exec : VmFlags.None);
        ulong stackStart = stack.VmaStartAfterSetup(mm.Config.RlimitStack);
        Vma stackVma = mm.InstallInitialVma(stackStart, ExecStack.StackTop, stackFlags, stackStart >> PageConstants.PageShift, null, null, faulted: true);

        // The program's segments.
        ulong loadBias = 0, phdrAddr = 0, elfBrk = 0, startCode = ulong.MaxValue, endCode = 0;
        bool firstLoad = true;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type != ElfProgramHeader.PtLoad)
            {
                continue;
            }

            Prot prot = ph.Prot;
            MapFlags flags = MapFlags.Private;
            ulong vaddr = ph.Vaddr;
            ulong totalSize = 0;
            if (!firstLoad)
            {
                flags |= MapFlags.Fixed;
            }
            else if (hdr.Type == ElfHeader.EtExec)
            {
                flags |= MapFlags.FixedNoReplace;
            }
            else
            {
                totalSize = TotalMappingSize(phdrs);
                if (totalSize == 0)
                {
                    return Errno.EINVAL;
                }

                ulong alignment = MaximumAlignment(phdrs);
                if (interp is not null)
                {
                    // A PIE goes to ELF_ET_DYN_BASE, aligned down to its largest p_align.
                    loadBias = ElfEtDynBase;
                    if (alignment != 0)
                    {
                        loadBias &= ~(alignment - 1);
                    }

                    flags |= MapFlags.FixedNoReplace;
                }
                else if (alignment > PageConstants.PageSize)
                {
                    // A loader (static PIE, ld.so run directly) asking for a larger alignment: map it where mmap
                    // would, unmap, and align that address down.
                    SysResult probe = ElfLoad(mm, exe.File, 0, ph, prot, flags, totalSize);
                    if (IsBadAddr(probe))
                    {
                        return ErrorOf(probe);
                    }

                    _ = VmaOps.DoMunmap(mm, probe.Value, totalSize);
                    loadBias = probe.Value & ~(alignment - 1);
                    flags |= MapFlags.FixedNoReplace;
                }
                else
                {
                    // A loader otherwise goes where a hint-less mmap goes: top down from mmap_base.
                    loadBias = 0;
                }

                loadBias = PageStart(loadBias - vaddr);
            }

            SysResult mapped = ElfLoad(mm, exe.File, loadBias + vaddr, ph, prot, flags, totalSize);
            if (IsBadAddr(mapped))
            {
                return ErrorOf(mapped);
            }

            if (firstLoad)
            {
                firstLoad = false;
                if (hdr.Type == ElfHeader.EtDyn)
                {
                    loadBias += mapped.Value - PageStart(loadBias + vaddr);
                }
            }

            if (ph.Offset <= hdr.PhOff && hdr.PhOff < ph.Offset + ph.FileSize)
            {
                phdrAddr = hdr.PhOff - ph.Offset + ph.Vaddr;
            }

            ulong k = ph.Vaddr;
            if ((ph.Flags & ElfProgramHeader.PfX) != 0 && k < startCode)
            {
                startCode = k;
            }

            if (k >= PageConstants.TaskSize || ph.FileSize > ph.MemSize || ph.MemSize > PageConstants.TaskSize
                || PageConstants.TaskSize - ph.MemSize < k)
            {
                return Errno.EINVAL;
            }

            k = ph.Vaddr + ph.FileSize;
            if ((ph.Flags & ElfProgramHeader.PfX) != 0 && endCode < k)
            {
                endCode = k;
            }

            k = ph.Vaddr + ph.MemSize;
            if (k > elfBrk)
            {
                elfBrk = k;
            }
        }

        entry = hdr.Entry + loadBias;
        phdrAddr += loadBias;
        elfBrk += loadBias;
        mm.StartCode = unchecked(startCode + loadBias);
        mm.EndCode = endCode + loadBias;

        var images = new List<ExecImage>(2);
        if (hdr.Type == ElfHeader.EtDyn && interp is not null)
        {
            // A PIE: Linux adds a random offset to its load bias.
            images.Add(NewImage(mm, ExecImageKind.Program, phdrs, loadBias, MaximumAlignment(phdrs), PageConstants.PageAlign(elfBrk)));
        }

        if (interp is not null)
        {
            SysResult interpLoad = LoadInterp(mm, interp, interpHdr, interpPhdrs!, loadBias);
            if (IsBadAddr(interpLoad))
            {
                return ErrorOf(interpLoad);
            }

            interpBase = interpLoad.Value;
            if (interpHdr.Type == ElfHeader.EtDyn)
            {
                // Placed by the unmapped-area search, below a random mmap_base.
                images.Add(NewImage(mm, ExecImageKind.Interpreter, interpPhdrs!, interpBase, PageConstants.PageSize, 0));
            }
        }

        mm.ExecImages = images.Count != 0 ? [.. images] : null;

        // arch_setup_additional_pages() → map_vdso(): one get_unmapped_area() for the whole block.
        ulong vdsoText = 0;
        if (host.VdsoBlockLength != 0)
        {
            SysResult block = UnmappedArea.GetUnmappedArea(mm, false, false, 0, host.VdsoBlockLength, 0, MapFlags.None, VmFlags.None);
            if (block.IsError)
            {
                return block.Errno;
            }

            foreach (SpecialMapping special in host.VdsoBlock)
            {
                MmapOps.InstallSpecialMapping(mm, block.Value + special.Offset, special);
            }

            vdsoText = block.Value + host.VdsoTextOffset;
        }

        // create_elf_tables(): the platform string, AT_RANDOM's bytes, the auxiliary vector, envp, argv, argc.
        var tables = new ExecTables(stack, host, new ExecTables.Values(phdrAddr, (ulong)hdr.PhNum, interpBase, entry, vdsoText));
        Errno err = MmapOps.ExtendStackTo(mm, stackVma, tables.StackPointer);
        if (err != Errno.None)
        {
            return Errno.EFAULT;
        }

        if (MemoryOps.Write(mm, tables.StackPointer, tables.Image, out _) != Signal.None)
        {
            return Errno.EFAULT;
        }

        mm.StartStack = tables.StackPointer;

        // The program break: after the highest segment, or, for a loader run directly, at ELF_ET_DYN_BASE
        // (Linux 6.15, "binfmt_elf: Move brk for static PIE even if ASLR disabled").
        if (hdr.Type == ElfHeader.EtDyn && interp is null)
        {
            elfBrk = ElfEtDynBase;
        }

        mm.StartBrk = mm.Brk = PageConstants.PageAlign(elfBrk);
        if (host.VsyscallLine is { } gate)
        {
            mm.AddGateLine(gate);
        }

        return Errno.None;
    }

    /// <summary>The span of a file's PT_LOAD segments at <paramref name="bias"/> (bss included) and its RELRO
    /// pages, not yet placed by the log.</summary>
    private static ExecImage NewImage(AddressSpace mm, ExecImageKind kind, ElfProgramHeader[] phdrs, ulong bias, ulong alignment, ulong brkBase)
    {
        ulong start = ulong.MaxValue, end = 0;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type == ElfProgramHeader.PtLoad)
            {
                start = Math.Min(start, PageStart(unchecked(bias + ph.Vaddr)));
                end = Math.Max(end, PageConstants.PageAlign(unchecked(bias + ph.Vaddr + ph.MemSize)));
            }
        }

        (ulong relroStart, ulong relroEnd) = ExecImage.RelroPages(phdrs, bias);
        var vmas = new List<(ulong Start, ulong End)>();
        for (Vma? vma = mm.Tree.FindVma(start); vma is not null && vma.Start < end; vma = vma.NextVma)
        {
            vmas.Add((vma.Start, vma.End));
        }

        return new ExecImage(kind, start, end, relroStart, relroEnd, Math.Max(alignment, PageConstants.PageSize), brkBase, Placed: false, [.. vmas]);
    }

    /// <summary>Linux: fs/binfmt_elf.c load_elf_interp(). Returns the interpreter's load address (AT_BASE) or the
    /// errno.</summary>
    private static SysResult LoadInterp(AddressSpace mm, ExecFile interp, ElfHeader hdr, ElfProgramHeader[] phdrs, ulong noBase)
    {
        if (hdr.Type != ElfHeader.EtExec && hdr.Type != ElfHeader.EtDyn)
        {
            return Errno.EINVAL;
        }

        ulong totalSize = TotalMappingSize(phdrs);
        if (totalSize == 0)
        {
            return Errno.EINVAL;
        }

        ulong loadAddr = 0;
        bool loadAddrSet = false;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type != ElfProgramHeader.PtLoad)
            {
                continue;
            }

            MapFlags flags = MapFlags.Private;
            ulong vaddr = ph.Vaddr;
            if (hdr.Type == ElfHeader.EtExec || loadAddrSet)
            {
                flags |= MapFlags.Fixed;
            }
            else if (noBase != 0 && hdr.Type == ElfHeader.EtDyn)
            {
                loadAddr = unchecked(0 - vaddr);
            }

            SysResult mapped = ElfLoad(mm, interp.File, unchecked(loadAddr + vaddr), ph, ph.Prot, flags, totalSize);
            totalSize = 0;
            if (IsBadAddr(mapped))
            {
                return mapped.IsError ? mapped : Errno.EINVAL;
            }

            if (!loadAddrSet && hdr.Type == ElfHeader.EtDyn)
            {
                loadAddr = mapped.Value - PageStart(vaddr);
                loadAddrSet = true;
            }

            ulong k = unchecked(loadAddr + ph.Vaddr);
            if (k >= PageConstants.TaskSize || ph.FileSize > ph.MemSize || ph.MemSize > PageConstants.TaskSize
                || PageConstants.TaskSize - ph.MemSize < k)
            {
                return Errno.ENOMEM;
            }
        }

        return SysResult.Ok(loadAddr);
    }

    /// <summary>
    /// Maps one PT_LOAD segment: its file part (elf_map), the zeroed rest of its last file page (padzero) and
    /// anonymous pages for the rest of its memory size. Linux: fs/binfmt_elf.c elf_load().
    /// </summary>
    private static SysResult ElfLoad(AddressSpace mm, MappedFile file, ulong addr, ElfProgramHeader ph, Prot prot, MapFlags type, ulong totalSize)
    {
        ulong zeroStart, zeroEnd;
        SysResult mapped;
        if (ph.FileSize != 0)
        {
            mapped = ElfMap(mm, file, addr, ph, prot, type, totalSize);
            if (IsBadAddr(mapped))
            {
                return mapped;
            }

            zeroStart = mapped.Value + PageOffset(ph.Vaddr) + ph.FileSize;
            zeroEnd = mapped.Value + PageOffset(ph.Vaddr) + ph.MemSize;
            if (ph.MemSize > ph.FileSize && !PadZero(mm, zeroStart, prot) && (prot & Prot.Write) != 0)
            {
                return Errno.EFAULT;
            }
        }
        else
        {
            zeroStart = PageStart(addr);
            mapped = SysResult.Ok(zeroStart);
            zeroEnd = zeroStart + PageOffset(ph.Vaddr) + ph.MemSize;
        }

        if (ph.MemSize > ph.FileSize)
        {
            zeroStart = PageConstants.PageAlign(zeroStart);
            zeroEnd = PageConstants.PageAlign(zeroEnd);
            Errno err = MmapOps.VmBrkFlags(mm, zeroStart, zeroEnd - zeroStart, exec: (prot & Prot.Exec) != 0);
            if (err != Errno.None)
            {
                mapped = err;
            }
        }

        return mapped;
    }

    /// <summary>
    /// Maps the file part of a segment. The first segment of an ET_DYN image is mapped at the whole image's size
    /// (so that the place found fits every segment), and the part past its own size is unmapped again.
    /// Linux: fs/binfmt_elf.c elf_map().
    /// </summary>
    private static SysResult ElfMap(AddressSpace mm, MappedFile file, ulong addr, ElfProgramHeader ph, Prot prot, MapFlags type, ulong totalSize)
    {
        ulong size = PageConstants.PageAlign(ph.FileSize + PageOffset(ph.Vaddr));
        ulong off = ph.Offset - PageOffset(ph.Vaddr);
        addr = PageStart(addr);
        if (size == 0)
        {
            return SysResult.Ok(addr);
        }

        if (totalSize != 0)
        {
            totalSize = PageConstants.PageAlign(totalSize);
            SysResult mapped = VmMmap(mm, file, addr, totalSize, prot, type, off);
            if (!IsBadAddr(mapped) && totalSize > size)
            {
                _ = VmaOps.DoMunmap(mm, mapped.Value + size, totalSize - size);
            }

            return mapped;
        }

        return VmMmap(mm, file, addr, size, prot, type, off);
    }

    /// <summary>Linux: mm/util.c vm_mmap() → vm_mmap_pgoff().</summary>
    private static SysResult VmMmap(AddressSpace mm, MappedFile file, ulong addr, ulong len, Prot prot, MapFlags flags, ulong offset)
    {
        if (offset + PageConstants.PageAlign(len) < offset || PageOffset(offset) != 0)
        {
            return Errno.EINVAL;
        }

        SysResult ret = MmapOps.DoMmap(mm, file, addr, len, prot, flags, offset >> PageConstants.PageShift, 0, out ulong populate);
        if (!ret.IsError && populate != 0)
        {
            _ = MemoryOps.MmPopulate(mm, ret.Value, populate, ignoreErrors: true);
        }

        return ret;
    }

    /// <summary>Zeroes the rest of the page after a segment's file bytes, as the process would by writing to it.
    /// A read-only segment cannot be written (the kernel ignores that failure). Linux: fs/binfmt_elf.c padzero().</summary>
    private static bool PadZero(AddressSpace mm, ulong addr, Prot prot)
    {
        ulong n = PageOffset(addr);
        if (n == 0)
        {
            return true;
        }

        if ((prot & Prot.Write) == 0)
        {
            return false;
        }

        return MemoryOps.Poke(mm, addr, PageConstants.PageSize - n, 0) == Signal.None;
    }

    /// <summary>The program headers, or null where the loader refuses them. Linux: fs/binfmt_elf.c load_elf_phdrs().</summary>
    private static ElfProgramHeader[]? LoadPhdrs(ExecFile file, ElfHeader hdr)
    {
        if (hdr.PhEntSize != ElfProgramHeader.Size)
        {
            return null;
        }

        int size = ElfProgramHeader.Size * hdr.PhNum;
        if (size == 0 || size > 65536 || (ulong)size > PageConstants.PageSize)
        {
            return null;
        }

        byte[]? bytes = file.Read(hdr.PhOff, size);
        if (bytes is null || bytes.Length != size)
        {
            return null;
        }

        return ElfProgramHeader.ParseAll(bytes, hdr.PhNum);
    }

    /// <summary>From the lowest PT_LOAD page to the end of the highest. Linux: fs/binfmt_elf.c total_mapping_size().</summary>
    private static ulong TotalMappingSize(ElfProgramHeader[] phdrs)
    {
        ulong min = ulong.MaxValue, max = 0;
        bool any = false;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type == ElfProgramHeader.PtLoad)
            {
                min = Math.Min(min, PageStart(ph.Vaddr));
                max = Math.Max(max, ph.Vaddr + ph.MemSize);
                any = true;
            }
        }

        return any ? max - min : 0;
    }

    /// <summary>The largest power-of-two p_align of the PT_LOAD segments, page aligned.
    /// Linux: fs/binfmt_elf.c maximum_alignment().</summary>
    private static ulong MaximumAlignment(ElfProgramHeader[] phdrs)
    {
        ulong alignment = 0;
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type == ElfProgramHeader.PtLoad && ph.Align != 0 && (ph.Align & (ph.Align - 1)) == 0)
            {
                alignment = Math.Max(alignment, ph.Align);
            }
        }

        return PageConstants.PageAlign(alignment);
    }

    private static ulong PageStart(ulong v) => v & PageConstants.PageMask;

    private static ulong PageOffset(ulong v) => v & (PageConstants.PageSize - 1);

    /// <summary>BAD_ADDR(): at or above TASK_SIZE (errors included).</summary>
    private static bool IsBadAddr(SysResult value) => value.Value >= PageConstants.TaskSize;

    /// <summary>A bad address's errno: its own when it is one (IS_ERR_VALUE), else EINVAL.</summary>
    private static Errno ErrorOf(SysResult value) => value.IsError ? value.Errno : Errno.EINVAL;
}
