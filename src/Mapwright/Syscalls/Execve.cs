using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Mm.Exec;

namespace Mapwright.Syscalls;

/// <summary>execve: the process gets a new address space built from an ELF file of the host.</summary>
public sealed partial class MmSyscalls
{
    /// <summary>True while this process runs in an address space it borrowed from its parent (a vfork child):
    /// exec then leaves that address space to the parent instead of tearing it down.</summary>
    private bool _mmBorrowed;

    /// <summary>What the last execve did; null before any, and after one that failed before its point of no
    /// return.</summary>
    public ExecInfo? LastExec { get; private set; }

    /// <summary>
    /// execve(path, argv, envp). Errors before the point of no return (ENOENT, EACCES, E2BIG, ENOEXEC, ELIBBAD,
    /// EIO...) leave the process as it was. On success the address space is replaced by the one
    /// <see cref="ExecLoader"/> builds, the old one is torn down (unless a vfork parent still uses it), and the
    /// descriptors marked close-on-exec are closed. A failure past the point of no return (the kernel kills the
    /// process) is returned with the new, partial address space in place.
    /// Linux: fs/exec.c do_execveat_common(), begin_new_exec() → exec_mmap(), do_close_on_exec().
    /// </summary>
    public SysResult Execve(ExecRequest request, ExecEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(environment);
        AddressSpace old = Mm;
        LastExec = null;
        Errno err = ExecLoader.Exec(request, old.Config, old.Manager, new HostExecOpener(Host, Cwd), environment, out AddressSpace? mm, out ExecInfo info);
        if (!info.PastPointOfNoReturn)
        {
            return SysResult.Fail(err);
        }

        LastExec = info;
        mm!.HookTracer = old.HookTracer;
        mm.FailPoints = old.FailPoints;
        Mm = mm;
        if (!_mmBorrowed)
        {
            using (old.MmapLock.Write())
            {
                old.Exit();
            }
        }

        _mmBorrowed = false;
        foreach (MappedFile f in Files.CloseOnExec())
        {
            Machine.ReleaseIfUnused(f.Inode);
        }

        return Done(err);
    }

    /// <summary>
    /// The process a vfork child (or a thread) becomes when it calls execve while sharing this process's address
    /// space: a copy of the descriptor table, the same address space, borrowed until its exec replaces it.
    /// Linux: kernel/fork.c copy_process() with CLONE_VM|CLONE_VFORK; fs/exec.c exec_mmap() (the old mm stays with
    /// its other user).
    /// </summary>
    public MmSyscalls BorrowForExec() => ShareAddressSpace();

    /// <summary>A task that runs in this process's address space with its own copy of the descriptor table and
    /// working directory: a vfork child, a clone with CLONE_VM but not CLONE_FILES. Its exit or execve leaves the
    /// address space to the others. Linux: kernel/fork.c copy_mm() with CLONE_VM, copy_files() without CLONE_FILES.</summary>
    public MmSyscalls ShareAddressSpace() => new(Mm, this) { _mmBorrowed = true };
}
