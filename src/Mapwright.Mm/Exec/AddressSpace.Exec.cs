using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm.Exec;

namespace Mapwright.Mm;

/// <summary>The address-space operations execve uses beside mmap and munmap.</summary>
public sealed partial class AddressSpace
{
    /// <summary>Where the program's text starts (its lowest executable segment), as exec set it; status' VmExe.
    /// Protected by: mmap lock (write). Linux: mm->start_code.</summary>
    public ulong StartCode { get; set; }

    /// <summary>The end of the program's executable segments' file contents, as exec set it.
    /// Protected by: mmap lock (write). Linux: mm->end_code.</summary>
    public ulong EndCode { get; set; }

    /// <summary>
    /// Maps anonymous zero pages at exactly [addr, addr + request) for an ELF segment's bss, replacing what is
    /// there; merges with an anonymous neighbour below as brk does. Returns an errno.
    /// Linux: mm/mmap.c vm_brk_flags() → check_brk_limits(), do_vmi_munmap(), mm/vma.c do_brk_flags().
    /// </summary>
    internal Errno VmBrkFlags(ulong addr, ulong request, bool exec)
    {
        ulong len = PageConstants.PageAlign(request);
        if (len < request)
        {
            return Errno.ENOMEM;
        }

        if (len == 0)
        {
            return Errno.None;
        }

        long mapped = GetUnmappedArea(false, false, addr, len, 0, MapFlags.Fixed, VmFlags.None);
        if (mapped < 0)
        {
            return (Errno)(int)-mapped;
        }

        if (!MlockFutureOk(DefFlags, len))
        {
            return Errno.EAGAIN;
        }

        Errno err = DoMunmap(addr, len);
        if (err != Errno.None)
        {
            return err;
        }

        err = DoBrkFlags(Tree.FindPrev(addr), addr, len, exec ? VmFlags.Exec : VmFlags.None);
        if (err == Errno.None && (DefFlags & VmFlags.Locked) != 0)
        {
            _ = MmPopulate(addr, len, ignoreErrors: true);
        }

        return err;
    }

    /// <summary>Installs one mapping of the vDSO block at <paramref name="addr"/>: no file, named, refusing
    /// splits. Linux: mm/mmap.c _install_special_mapping() (VM_DONTEXPAND, vm_stat_account()).</summary>
    internal Vma InstallSpecialMapping(ulong addr, SpecialMapping mapping) =>
        InstallInitialVma(addr, addr + mapping.Length, mapping.Flags | DefFlags, 0, null,
            new VmOperations { Name = mapping.Name, IsSpecialMapping = true, MaySplit = _ => Errno.EINVAL }, faulted: false);

    /// <summary>Extends the stack VMA down to cover <paramref name="addr"/>, as the kernel does before writing the
    /// ELF tables. Linux: mm/mmap.c find_extend_vma_locked() → expand_stack_locked().</summary>
    internal Errno ExtendStackTo(Vma stack, ulong addr) =>
        addr >= stack.Start ? Errno.None : ExpandStack(stack, addr);
}
