using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Locking;

namespace Mapwright.Mm.Exec;

/// <summary>
/// The address space an execve left, rebuilt line by line from its <c>/proc/PID/maps</c> (the replay's
/// <c>--initial-maps</c>): what each line's VMA was made with — the stack setup_arg_pages() made, the break
/// load_elf_binary() set, the kernel's special mappings, the program's and libraries' file mappings, their bss
/// and other anonymous memory (taken as touched) — decided here from the line's fields, so the caller only
/// parses the text and resolves file lines to files.
/// Linux: fs/exec.c setup_arg_pages(); fs/binfmt_elf.c load_elf_binary(); mm/mmap.c _install_special_mapping();
/// fs/proc/task_mmu.c show_map_vma() (what the line shows of them).
/// </summary>
internal static class InitialLayout
{
    /// <summary>
    /// True when the line starting at <paramref name="start"/> named <paramref name="name"/> maps a file, so that
    /// its caller must resolve the file before <see cref="InstallLine"/>: a line below the gate area whose name is
    /// neither empty (anonymous memory) nor a kernel name in brackets (<c>[heap]</c>, <c>[vdso]</c>...).
    /// </summary>
    public static bool IsFileLine(ulong start, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return start < PageConstants.TaskSize && name.Length != 0 && name[0] != '[';
    }

    /// <summary>
    /// Installs the VMA one maps line describes, as the kernel made it:
    /// <list type="bullet">
    /// <item>a line at or above TASK_SIZE is the <c>[vsyscall]</c> gate area, no VMA: maps prints
    /// <paramref name="text"/> after the VMAs;</item>
    /// <item>every VMA may be read, written and executed (VM_MAY*) unless a special mapping; the four permission
    /// characters give VM_READ, VM_WRITE, VM_EXEC and, for <c>s</c>, VM_SHARED|VM_MAYSHARE; a private writable
    /// mapping is charged to overcommit (VM_ACCOUNT);</item>
    /// <item><c>[stack]</c>: VM_GROWSDOWN|VM_ACCOUNT, the page offset of anonymous memory, and the stack start
    /// just below its end;</item>
    /// <item><c>[heap]</c>: anonymous; unless the break is already set (<see cref="AddressSpace.PrctlSetMmBrk"/>),
    /// it is the start and the end of the line;</item>
    /// <item><c>[vvar]</c>, <c>[vvar_vclock]</c>, <c>[vdso]</c>, <c>[uprobes]</c>: install_special_mapping()'s
    /// VMAs with the flags the host kernel gives them (<see cref="SpecialMappingFlags"/>), named, page offset 0,
    /// refusing splits with EINVAL;</item>
    /// <item>another name in brackets keeps its name; an empty name is anonymous memory;</item>
    /// <item>a file line (<see cref="IsFileLine"/>) maps <paramref name="file"/> with <paramref name="fileOps"/>,
    /// which the caller resolved from the path, device and inode, at the line's offset.</item>
    /// </list>
    /// Anonymous VMAs are taken as touched (they get an anon_vma). The stack start and the break are set before
    /// the overlap check, whatever its result.
    /// Returns <see cref="Errno.EEXIST"/>, installing nothing, when the range overlaps a VMA an earlier line
    /// installed.
    /// </summary>
    /// <param name="mm">The address space being built, which no task runs in yet.</param>
    /// <param name="text">The line as maps printed it, kept for the gate area.</param>
    /// <param name="start">The first address, page-aligned.</param>
    /// <param name="end">One past the last address, page-aligned, above <paramref name="start"/>.</param>
    /// <param name="perms">The four permission characters, <c>r-xp</c>.</param>
    /// <param name="offset">The file offset in bytes.</param>
    /// <param name="name">The path or the kernel's name; empty for anonymous memory.</param>
    /// <param name="file">The file of a file line; null otherwise.</param>
    /// <param name="fileOps">The file's VMA operations for a file line; ignored otherwise.</param>
    /// <remarks>Requires: the mmap lock held for write, as execve builds the new address space under it.</remarks>
    public static Errno InstallLine(AddressSpace mm, string text, ulong start, ulong end, string perms, ulong offset, string name,
        MappedFile? file, VmOperations? fileOps)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(perms);
        ArgumentNullException.ThrowIfNull(name);
        LockAssert.MmapWriteLocked(mm.MmapLock, "InitialLayout.InstallLine");
        if (perms.Length != 4)
        {
            throw new ArgumentException($"bad permissions '{perms}'", nameof(perms));
        }

        if (start >= PageConstants.TaskSize)
        {
            // The [vsyscall] gate area is no VMA; maps prints it last.
            mm.AddGateLine(text);
            return Errno.None;
        }

        VmFlags flags = VmFlags.MayRead | VmFlags.MayWrite | VmFlags.MayExec;
        if (perms[0] == 'r')
        {
            flags |= VmFlags.Read;
        }

        if (perms[1] == 'w')
        {
            flags |= VmFlags.Write;
        }

        if (perms[2] == 'x')
        {
            flags |= VmFlags.Exec;
        }

        if (perms[3] == 's')
        {
            flags |= VmFlags.Shared | VmFlags.MayShare;
        }

        bool privateWritable = (flags & (VmFlags.Write | VmFlags.Shared)) == VmFlags.Write;
        if (privateWritable)
        {
            flags |= VmFlags.Account;
        }

        ulong pgoff = offset >> PageConstants.PageShift;
        MappedFile? mapped = null;
        VmOperations? ops = null;
        switch (name)
        {
            case "[stack]":
                flags |= VmFlags.GrowsDown | VmFlags.Account;
                pgoff = start >> PageConstants.PageShift;
                mm.StartStack = end - 8;
                break;
            case "[heap]":
                pgoff = start >> PageConstants.PageShift;
                if (mm.StartBrk == 0)
                {
                    mm.StartBrk = start;
                    mm.Brk = end;
                }

                break;
            case "[vvar]":
            case "[vvar_vclock]":
            case "[vdso]":
            case "[uprobes]":
                flags = SpecialMappingFlags(name, flags);
                ops = MmapOps.SpecialMappingOps(name);
                pgoff = 0;
                break;
            case "":
                pgoff = start >> PageConstants.PageShift;
                break;
            default:
                if (name.StartsWith('['))
                {
                    ops = new VmOperations { Name = name };
                    break;
                }

                ArgumentNullException.ThrowIfNull(file);
                mapped = file;
                ops = fileOps;
                break;
        }

        if (mm.LookupVma(start) is not null || (mm.FindVma(start) is { } next && next.Start < end))
        {
            return Errno.EEXIST;
        }

        mm.InstallInitialVma(start, end, flags, pgoff, mapped, ops, faulted: true);
        return Errno.None;
    }

    /// <summary>
    /// Ends the layout once every line is in: with no <c>[heap]</c> line and no break set, the break is where
    /// execve put it — the page-aligned end of the executable's bss, read back from the layout.
    /// </summary>
    /// <remarks>Requires: the mmap lock held for write.</remarks>
    public static void Finish(AddressSpace mm)
    {
        ArgumentNullException.ThrowIfNull(mm);
        LockAssert.MmapWriteLocked(mm.MmapLock, "InitialLayout.Finish");
        if (mm.StartBrk == 0)
        {
            mm.StartBrk = mm.Brk = BrkAfterExecutable(mm);
        }
    }

    /// <summary>
    /// The flags of a special mapping of an initial maps line: the line's permissions, with the rest of the flags
    /// the host kernel gives the mapping of that name in every new address space (its vDSO block, as exec builds
    /// it: [vvar] and [vvar_vclock] VM_PFNMAP|VM_IO|VM_DONTEXPAND|VM_DONTDUMP, [vdso] VM_MAYWRITE|VM_MAYEXEC|
    /// VM_DONTEXPAND on 6.18). A name the host has not ([uprobes], an older kernel's block) gets
    /// install_special_mapping()'s VM_DONTEXPAND|VM_DONTDUMP|VM_MIXEDMAP.
    /// Linux: arch/x86/entry/vdso/vma.c map_vdso(), kernel/events/uprobes.c xol_add_vma().
    /// </summary>
    private static VmFlags SpecialMappingFlags(string name, VmFlags fromLine)
    {
        const VmFlags perms = VmFlags.Read | VmFlags.Write | VmFlags.Exec | VmFlags.Shared;
        foreach (SpecialMapping m in HostExecEnvironment.Host.VdsoBlock)
        {
            if (m.Name == name)
            {
                return (fromLine & perms) | (m.Flags & ~perms);
            }
        }

        return (fromLine & ~(VmFlags.MayWrite | VmFlags.MayExec)) | VmFlags.DontExpand | VmFlags.DontDump | VmFlags.MixedMap;
    }

    /// <summary>
    /// The program break execve set, read back from the layout it left: the page-aligned end of the executable's
    /// bss. The executable is the file mapped lowest; its segments are the VMAs of that file that follow one
    /// another without a gap, and its bss, when it spills past the last file page, is the anonymous VMA right
    /// after them. Returns 0 when no file is mapped.
    /// Linux: fs/binfmt_elf.c load_elf_binary(): mm->start_brk = mm->brk = ELF_PAGEALIGN(elf_brk), with
    /// address randomisation off.
    /// </summary>
    internal static ulong BrkAfterExecutable(AddressSpace mm)
    {
        Vma? v = mm.FirstVma;
        while (v is not null && v.File is null)
        {
            v = v.NextVma;
        }

        if (v is null)
        {
            return 0;
        }

        MappedFile exe = v.File!;
        while (v.NextVma is { } next && next.Start == v.End && next.File == exe)
        {
            v = next;
        }

        if (v.NextVma is { } bss && bss.Start == v.End && bss.File is null && bss.VmOps is null)
        {
            v = bss;
        }

        return v.End;
    }
}
