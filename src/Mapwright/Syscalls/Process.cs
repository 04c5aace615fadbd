using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;

namespace Mapwright.Syscalls;

/// <summary>Process creation and exit, as far as memory management goes.</summary>
public sealed partial class MmSyscalls
{
    /// <summary>
    /// fork(): a child process with a copy-on-write copy of this address space (see <see cref="AddressSpace.Fork"/>)
    /// and a copy of the descriptor table. Returns 0 with the child, or ENOMEM.
    /// Linux: kernel/fork.c kernel_clone() → copy_process() → copy_mm(), copy_files().
    /// </summary>
    public SysResult Fork(out MmSyscalls? child)
    {
        child = null;
        using (Mm.MmapLock.Write())
        {
            Errno err = Mm.Fork(out AddressSpace? childMm);
            if (err != Errno.None)
            {
                return Done(err);
            }

            child = new MmSyscalls(childMm!, this);
        }

        return Done(SysResult.Ok(0));
    }

    /// <summary>exit(): the address space is torn down (unless it is borrowed from a vfork parent) and the
    /// descriptors closed. Linux: kernel/exit.c do_exit()
    /// → exit_mm(), exit_files().</summary>
    public void Exit()
    {
        var open = new List<Inode>();
        foreach (MappedFile f in Files.OpenFiles())
        {
            open.Add(f.Inode);
        }

        Files.CloseAll();
        Machine.Remove(this);
        if (!_mmBorrowed)
        {
            using (Mm.MmapLock.Write())
            {
                Mm.Exit();
            }
        }

        foreach (Inode inode in open)
        {
            Machine.ReleaseIfUnused(inode);
        }
    }
}
