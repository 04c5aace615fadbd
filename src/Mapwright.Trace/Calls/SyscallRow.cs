namespace Mapwright.Trace.Calls;

/// <summary>
/// One call the trace language knows: its name, x86-64 number, arguments, result spelling, category and what runs
/// it. The parser, the validator, the replay engine, the CLI and the differential harness all read these rows
/// (<see cref="SyscallTable"/>); adding a call is adding a row.
/// </summary>
public sealed class SyscallRow
{
    internal SyscallRow(string name, int number, CallCategory category, ArgForm[] args, int minArgs, ResultSpelling spelling, CallExecutor executor, bool looseResult)
    {
        LooseResult = looseResult || category == CallCategory.Descriptor;
        Name = name;
        Number = number;
        Category = category;
        Args = args;
        MinArgs = minArgs;
        Spelling = spelling;
        Executor = executor;
    }

    /// <summary>The call's name as strace prints it.</summary>
    public string Name { get; }

    /// <summary>How many descriptors the call takes on entry, before it can block (an open of a FIFO, an accept):
    /// a replay reserves them at the call's <c>&lt;unfinished ...&gt;</c> line. Linux: get_unused_fd_flags() early in
    /// do_sys_openat2(), __sys_accept4_file(), memfd_create, do_pipe2()...</summary>
    internal int DescriptorsAtEntry { get; init; }

    /// <summary>The x86-64 system call number (arch/x86/entry/syscalls/syscall_64.tbl); -1 for the project's
    /// pseudo-calls.</summary>
    public int Number { get; }

    public CallCategory Category { get; }

    /// <summary>The form of each argument position; the length is the most arguments the call takes.</summary>
    public IReadOnlyList<ArgForm> Args { get; }

    /// <summary>The fewest arguments (strace omits trailing ones: mremap's new_address without MREMAP_FIXED,
    /// openat's mode without O_CREAT).</summary>
    public int MinArgs { get; }

    public int MaxArgs => Args.Count;

    public ResultSpelling Spelling { get; }

    /// <summary>Whether the model runs the call, so that its arguments and result are checked strictly (an
    /// unknown symbol or errno is an error). Descriptor rows, clone and fcntl read their arguments loosely.</summary>
    public bool IsModelled => Category != CallCategory.Descriptor;

    /// <summary>Whether the call is a real system call (not one of the project's pseudo-calls).</summary>
    public bool IsSyscall => Number >= 0;

    /// <summary>Whether a result the parser cannot read is kept as unknown instead of being an error (strace prints
    /// fcntl's and clone's results with decorations and errnos the model has no use for).</summary>
    public bool LooseResult { get; }

    internal CallExecutor Executor { get; }

    /// <summary>The form of argument <paramref name="i"/>.</summary>
    public ArgForm FormOf(int i) => i < Args.Count ? Args[i] : ArgForm.Any;
}
