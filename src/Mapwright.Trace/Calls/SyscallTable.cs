using System.Collections.Frozen;
using Mapwright.Abi;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using C = Mapwright.Trace.Calls.CallCategory;
using F = Mapwright.Trace.Calls.ArgForm;
using R = Mapwright.Trace.Calls.ResultSpelling;

namespace Mapwright.Trace.Calls;

/// <summary>
/// Every call the trace language knows, one row each (<see cref="SyscallRow"/>): the memory and file calls the model
/// runs, the process calls, the project's pseudo-calls, and the calls outside the model that return a descriptor.
/// Numbers are x86-64's (arch/x86/entry/syscalls/syscall_64.tbl, Linux 6.18). A call not listed is skipped and
/// counted, its arguments read loosely.
/// </summary>
public static class SyscallTable
{
    private static readonly SyscallRow[] s_rows =
    [
        // Memory.
        Row("mmap", 9, C.Memory, [F.Number, F.Number, F.Number, F.Number, F.Number, F.Number], R.Hex, (e, s, c, o) => o.SetResult(s.Mmap(c.Arg(0), c.Arg(1), c.Arg(2), c.Arg(3), c.Arg(4), c.Arg(5)))),
        Row("mprotect", 10, C.Memory, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Mprotect(c.Arg(0), c.Arg(1), c.Arg(2)))),
        Row("munmap", 11, C.Memory, [F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Munmap(c.Arg(0), c.Arg(1)))),
        Row("brk", 12, C.Memory, [F.Number], R.Hex, (e, s, c, o) => o.SetResult(s.Brk(c.Arg(0)))),
        // strace prints new_address only with MREMAP_FIXED or MREMAP_DONTUNMAP.
        Row("mremap", 25, C.Memory, [F.Number, F.Number, F.Number, F.Number, F.Number], R.Hex, (e, s, c, o) => o.SetResult(s.Mremap(c.Arg(0), c.Arg(1), c.Arg(2), c.Arg(3), c.ArgCount > 4 ? c.Arg(4) : 0)), minArgs: 4),
        Row("msync", 26, C.Memory, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Msync(c.Arg(0), c.Arg(1), c.Arg(2)))),
        // The vector is an out-argument: strace prints it on exit, a hand-written trace may write [...] or NULL.
        Row("mincore", 27, C.Memory, [F.Number, F.Number, F.Any], R.Decimal, CallExecutors.Mincore),
        Row("madvise", 28, C.Memory, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Madvise(c.Arg(0), c.Arg(1), c.Arg(2)))),
        Row("mlock", 149, C.Memory, [F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Mlock(c.Arg(0), c.Arg(1)))),
        Row("munlock", 150, C.Memory, [F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Munlock(c.Arg(0), c.Arg(1)))),
        Row("mlockall", 151, C.Memory, [F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Mlockall(c.Arg(0)))),
        Row("munlockall", 152, C.Memory, [], R.Decimal, (e, s, c, o) => o.SetResult(s.Munlockall())),
        Row("mlock2", 325, C.Memory, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Mlock2(c.Arg(0), c.Arg(1), c.Arg(2)))),
        Row("mseal", 462, C.Memory, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Mseal(c.Arg(0), c.Arg(1), c.Arg(2)))),

        // Files. strace prints open's and openat's mode only with O_CREAT or O_TMPFILE.
        Row("open", 2, C.File, [F.String, F.Number, F.Number], R.Decimal, CallExecutors.Open, minArgs: 2, descriptorsAtEntry: 1),
        Row("close", 3, C.File, [F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Close(c.Arg(0)))),
        Row("fcntl", 72, C.File, [F.Number, F.Any, F.Any], R.Decimal, CallExecutors.Fcntl, minArgs: 2, looseResult: true),
        Row("ftruncate", 77, C.File, [F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Ftruncate(c.Arg(0), c.Arg(1)))),
        Row("openat", 257, C.File, [F.Number, F.String, F.Number, F.Number], R.Decimal, CallExecutors.Openat, minArgs: 3, descriptorsAtEntry: 1),
        Row("memfd_create", 319, C.File, [F.String, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.MemfdCreate(c.ArgString(0), c.Arg(1))), descriptorsAtEntry: 1),
        Row("dup", 32, C.File, [F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Dup(c.Arg(0))), descriptorsAtEntry: 1),
        Row("dup2", 33, C.File, [F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Dup3(c.Arg(0), c.Arg(1), 0, isDup2: true))),
        Row("dup3", 292, C.File, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Dup3(c.Arg(0), c.Arg(1), c.Arg(2), isDup2: false))),
        Row("close_range", 436, C.File, [F.Number, F.Number, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.CloseRange(c.Arg(0), c.Arg(1), c.Arg(2)))),
        Row("chdir", 80, C.File, [F.String], R.Decimal, (e, s, c, o) => o.SetResult(s.Chdir(c.ArgString(0)))),
        Row("fchdir", 81, C.File, [F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Fchdir(c.Arg(0)))),
        Row("unlink", 87, C.File, [F.String], R.Decimal, (e, s, c, o) => o.SetResult(s.Unlink(c.ArgString(0)))),
        Row("unlinkat", 263, C.File, [F.Number, F.String, F.Number], R.Decimal, (e, s, c, o) => o.SetResult(s.Unlinkat(c.Arg(0), c.ArgString(1), c.Arg(2)))),
        // strace prints mknod's device only for a character or block device (makedev(0x1, 0x3)).
        Row("mknod", 133, C.File, [F.String, F.Number, F.Any], R.Decimal, CallExecutors.Mknod, minArgs: 2),
        Row("mknodat", 259, C.File, [F.Number, F.String, F.Number, F.Any], R.Decimal, CallExecutors.Mknodat, minArgs: 3),
        Row("bind", 49, C.File, [F.Number, F.Any, F.Number], R.Decimal, CallExecutors.Bind),
        Row("mkdir", 83, C.File, [F.String, F.Number], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Mkdir(c.ArgString(0)))),
        Row("mkdirat", 258, C.File, [F.Number, F.String, F.Number], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Mkdirat(c.Arg(0), c.ArgString(1)))),
        Row("rmdir", 84, C.File, [F.String], R.Decimal, (e, s, c, o) => o.SetResult(s.Rmdir(c.ArgString(0)))),
        Row("link", 86, C.File, [F.String, F.String], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Link(c.ArgString(0), c.ArgString(1)))),
        Row("linkat", 265, C.File, [F.Number, F.String, F.Number, F.String, F.Number], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Linkat(c.Arg(0), c.ArgString(1), c.Arg(2), c.ArgString(3), c.Arg(4)))),
        Row("rename", 82, C.File, [F.String, F.String], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Rename(c.ArgString(0), c.ArgString(1)))),
        Row("renameat", 264, C.File, [F.Number, F.String, F.Number, F.String], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Renameat2(c.Arg(0), c.ArgString(1), c.Arg(2), c.ArgString(3), 0))),
        Row("renameat2", 316, C.File, [F.Number, F.String, F.Number, F.String, F.Number], R.Decimal, (e, s, c, o) => CallExecutors.SetOrSkip(o, s.Renameat2(c.Arg(0), c.ArgString(1), c.Arg(2), c.ArgString(3), c.Arg(4)))),

        // Processes. clone's and clone3's arguments are strace's structures: only CLONE_VM is looked for in them.
        Row("clone", 56, C.Process, [F.Any, F.Any, F.Any, F.Any, F.Any], R.Decimal, CallExecutors.Spawn, minArgs: 0, looseResult: true),
        Row("fork", 57, C.Process, [], R.Decimal, CallExecutors.Spawn),
        Row("vfork", 58, C.Process, [], R.Decimal, CallExecutors.Spawn),
        Row("execve", 59, C.Process, [F.String, F.Any, F.Any], R.Decimal, ExecveExecutor.Execve, minArgs: 1),
        Row("exit", 60, C.Process, [F.Number], R.NoReturn, CallExecutors.Exit),
        Row("exit_group", 231, C.Process, [F.Number], R.NoReturn, CallExecutors.Exit),
        Row("clone3", 435, C.Process, [F.Any, F.Any], R.Decimal, CallExecutors.Spawn, minArgs: 0, looseResult: true),
        Row("execveat", 322, C.Process, [F.Any, F.String, F.Any, F.Any, F.Any], R.Decimal, ExecveExecutor.Execveat, minArgs: 2),

        // The project's pseudo-calls (trace-format.md).
        Row("peek", -1, C.Access, [F.Number, F.Number], R.Access, CallExecutors.Peek),
        Row("poke", -1, C.Access, [F.Number, F.Number, F.Number], R.Access, CallExecutors.Poke),
        Row("fpeek", -1, C.Access, [F.Number, F.Number, F.Number], R.Access, CallExecutors.Fpeek),
        Row("maps", -1, C.View, [], R.None, (e, s, c, o) => o.SetView(s.Mm.FormatMaps())),
        Row("smaps", -1, C.View, [], R.None, (e, s, c, o) => o.SetView(s.Mm.FormatSmaps())),
        Row("status", -1, C.View, [], R.None, (e, s, c, o) => o.SetView(s.Mm.FormatStatus())),
        Row("failpoint", -1, C.Control, [F.String, F.Number], R.Decimal, CallExecutors.Failpoint),

        // Outside the model, returning descriptors: skipped, the descriptor taken.
        Descriptor("creat", 85), Descriptor("mq_open", 240), Descriptor("landlock_create_ruleset", 444),
        Descriptor("pipe", 22), Descriptor("pipe2", 293), Descriptor("socket", 41), Descriptor("socketpair", 53),
        Descriptor("accept", 43), Descriptor("accept4", 288), Descriptor("epoll_create", 213), Descriptor("epoll_create1", 291),
        Descriptor("eventfd", 284), Descriptor("eventfd2", 290), Descriptor("inotify_init", 253), Descriptor("inotify_init1", 294),
        Descriptor("signalfd", 282), Descriptor("signalfd4", 289), Descriptor("timerfd_create", 283), Descriptor("userfaultfd", 323),
        Descriptor("perf_event_open", 298), Descriptor("fanotify_init", 300), Descriptor("open_by_handle_at", 304),
        Descriptor("io_uring_setup", 425), Descriptor("open_tree", 428), Descriptor("fsopen", 430), Descriptor("fspick", 433),
        Descriptor("fsmount", 432), Descriptor("pidfd_open", 434), Descriptor("pidfd_getfd", 438), Descriptor("memfd_secret", 447),
    ];

    private static readonly FrozenDictionary<string, SyscallRow> s_byName = s_rows.ToFrozenDictionary(r => r.Name, StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, SyscallRow>.AlternateLookup<ReadOnlySpan<char>> s_bySpan =
        s_byName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Every row, memory calls first.</summary>
    public static IReadOnlyList<SyscallRow> Rows => s_rows;

    /// <summary>The row of a call, by name.</summary>
    public static bool TryGet(string name, out SyscallRow row) => s_byName.TryGetValue(name, out row!);

    /// <summary>The row of a call, by name (no allocation).</summary>
    public static bool TryGet(ReadOnlySpan<char> name, out SyscallRow row) => s_bySpan.TryGetValue(name, out row!);

    private static SyscallRow Row(string name, int number, CallCategory category, ArgForm[] args, ResultSpelling spelling, CallExecutor executor, int minArgs = -1, bool looseResult = false, int descriptorsAtEntry = 0) =>
        new(name, number, category, args, minArgs < 0 ? args.Length : minArgs, spelling, executor, looseResult) { DescriptorsAtEntry = descriptorsAtEntry };

    /// <summary>strace prints any number of arguments for these; only the result and pipe's array matter.</summary>
    private static SyscallRow Descriptor(string name, int number) =>
        new(name, number, CallCategory.Descriptor, [], 0, R.Decimal, CallExecutors.TakeDescriptors, looseResult: true)
        {
            // pipe's and socketpair's two ends; signalfd may reuse the descriptor it is given.
            DescriptorsAtEntry = name is "pipe" or "pipe2" or "socketpair" ? 2 : name is "signalfd" or "signalfd4" ? 0 : 1,
        };
}
