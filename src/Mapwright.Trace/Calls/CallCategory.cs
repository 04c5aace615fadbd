namespace Mapwright.Trace.Calls;

/// <summary>What a row of the syscall table is to the replay.</summary>
public enum CallCategory
{
    /// <summary>A memory-management system call the model runs (mmap, munmap, ...).</summary>
    Memory,

    /// <summary>A file system call the model runs (openat, close, memfd_create, ...).</summary>
    File,

    /// <summary>A process call: fork, vfork, clone, clone3, exit, exit_group.</summary>
    Process,

    /// <summary>The project's access pseudo-calls: peek, poke, fpeek.</summary>
    Access,

    /// <summary>The project's view pseudo-calls, printing a /proc file: maps, smaps, status.</summary>
    View,

    /// <summary>The project's control pseudo-call: failpoint.</summary>
    Control,

    /// <summary>A system call outside the model whose result is a file descriptor (socket, pipe2, dup, ...): it
    /// is skipped, but the descriptor it returned is taken so that later descriptor numbers match.</summary>
    Descriptor,
}
