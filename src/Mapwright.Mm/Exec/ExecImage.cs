using Mapwright.Abi;

namespace Mapwright.Mm.Exec;

/// <summary>Which ELF file an <see cref="ExecImage"/> is.</summary>
internal enum ExecImageKind
{
    /// <summary>The program, a PIE run through an interpreter: Linux puts it at ELF_ET_DYN_BASE plus a random
    /// offset. Linux: fs/binfmt_elf.c load_elf_binary() (load_bias), arch/x86/mm/mmap.c arch_mmap_rnd().</summary>
    Program,

    /// <summary>The interpreter (ld.so): Linux places it as a hint-less mmap, below a random mmap_base.
    /// Linux: fs/binfmt_elf.c load_elf_interp().</summary>
    Interpreter,
}

/// <summary>
/// An ELF file execve mapped where address randomisation would have put it elsewhere, for
/// <c>mapwright run --follow-addresses</c> on a log whose execve the model redid: the span of its VMAs, its
/// PT_GNU_RELRO pages (which ld.so makes read-only with the first system call that names the file's addresses),
/// and whether the log has shown where it is. Linux has no such record: the kernel's random bases are what the
/// log's addresses stand for.
/// </summary>
/// <param name="Kind">The program or the interpreter.</param>
/// <param name="Start">The lowest address of its VMAs (page-aligned).</param>
/// <param name="End">The end of its highest VMA, bss included (page-aligned).</param>
/// <param name="RelroStart">The first page ld.so makes read-only after relocation; equal to <paramref name="RelroEnd"/>
/// when the file has no PT_GNU_RELRO or it covers no whole page. Linux (glibc): elf/dl-reloc.c _dl_protect_relro().</param>
/// <param name="RelroEnd">The end of those pages.</param>
/// <param name="Alignment">The program's largest PT_LOAD p_align: its random load bias is a multiple of it.</param>
/// <param name="BrkBase">For the program: start_brk before randomisation (the end of its bss, page-aligned).</param>
/// <param name="Placed">The log has shown where this file is: it was moved there, or needs no move.</param>
/// <param name="Vmas">The ranges of the VMAs execve mapped for it, in address order.</param>
internal sealed record ExecImage(ExecImageKind Kind, ulong Start, ulong End, ulong RelroStart, ulong RelroEnd, ulong Alignment, ulong BrkBase, bool Placed, (ulong Start, ulong End)[] Vmas)
{
    /// <summary>The bytes of <see cref="RelroStart"/>..<see cref="RelroEnd"/>.</summary>
    public ulong RelroLength => RelroEnd - RelroStart;

    /// <summary>The pages ld.so protects for a file loaded at <paramref name="bias"/> with these program headers:
    /// from the page of p_vaddr down, to the page of p_vaddr + p_memsz down (start = end for none).</summary>
    public static (ulong Start, ulong End) RelroPages(ElfProgramHeader[] phdrs, ulong bias)
    {
        foreach (ElfProgramHeader ph in phdrs)
        {
            if (ph.Type == ElfProgramHeader.PtGnuRelro)
            {
                ulong start = unchecked(bias + ph.Vaddr) & PageConstants.PageMask;
                ulong end = unchecked(bias + ph.Vaddr + ph.MemSize) & PageConstants.PageMask;
                return end > start ? (start, end) : (0, 0);
            }
        }

        return (0, 0);
    }
}
