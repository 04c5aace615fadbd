using System.Globalization;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;
using Mapwright.Vfs;

namespace Mapwright.Trace.Calls;

/// <summary>The executors of the syscall table's rows that do more than call one <see cref="MmSyscalls"/> method.</summary>
internal static class CallExecutors
{
    /// <summary>The file a skipped call's descriptor stands for: it has no mmap hook (ENODEV), as an eventfd, a
    /// socket or a pipe has none.</summary>
    private static readonly Inode s_foreignInode = new(0, 0x0e, 1) { IsDevice = true, Fop = new FileOperations { Name = MmSyscalls.AnonInodeFsName } };

    /// <summary>The controlling terminal (no mmap hook).</summary>
    private static readonly Inode s_ttyInode = new(5, 0, 0) { IsDevice = true, Fop = new FileOperations { Name = "tty" } };

    /// <summary>A pipe's end: no mmap hook either, but /proc/self/fd/N opens it again.</summary>
    private static readonly Inode s_pipeInode = new(0, 0x0e, 2) { IsDevice = true, Fop = new FileOperations { Name = "pipefs" } };

    /// <summary>open(path, flags[, mode]).</summary>
    public static void Open(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        OpenPath(sys, call, outcome, unchecked((ulong)-100), 0);

    /// <summary>openat(dirfd, path, flags[, mode]).</summary>
    public static void Openat(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        OpenPath(sys, call, outcome, call.Arg(0), 1);

    /// <summary>
    /// The controlling terminal, <c>/dev/tty</c>, is the traced process's, which the log does not describe (ENXIO
    /// without one): the replay takes the result the log shows, as for descriptors of calls outside the model.
    /// Every other path opens in the model.
    /// </summary>
    private static void OpenPath(MmSyscalls sys, CallLine call, Outcome outcome, ulong dirfd, int pathArg)
    {
        string path = call.ArgString(pathArg);
        ulong flags = call.Arg(pathArg + 1);
        ulong mode = call.ArgCount > pathArg + 2 ? call.Arg(pathArg + 2) : 0;
        if (path == "/dev/tty")
        {
            outcome.Kind = OutcomeKind.Skipped;
            if (call.HasResult && call.ResultKind == TraceResultKind.Value && call.ResultValue is >= 0 and < 1 << 20)
            {
                sys.Files.InstallAt((int)call.ResultValue, new MappedFile(s_ttyInode, path, true, true));
            }

            return;
        }

        outcome.SetResult(sys.Openat(dirfd, path, flags, mode));
    }

    /// <summary>The model's result, or skipped where the model has none (a directory's rename, a link of a
    /// descriptor's file).</summary>
    public static void SetOrSkip(Outcome outcome, SysResult? result)
    {
        if (result is { } r)
        {
            outcome.SetResult(r);
            return;
        }

        outcome.Kind = OutcomeKind.Skipped;
        outcome.SkipReason = "outside the model's file layer (a directory moved, a descriptor's file linked, a directory under /sys)";
    }

    /// <summary>mknod(path, mode[, dev]).</summary>
    public static void Mknod(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        MknodPath(sys, call, outcome, unchecked((ulong)-100), 0);

    /// <summary>mknodat(dirfd, path, mode[, dev]).</summary>
    public static void Mknodat(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        MknodPath(sys, call, outcome, call.Arg(0), 1);

    /// <summary>S_IFMT, S_IFCHR, S_IFBLK, S_IFSOCK (include/uapi/linux/stat.h).</summary>
    private const ulong SIfMt = 0xf000, SIfChr = 0x2000, SIfBlk = 0x6000, SIfSock = 0xc000;

    /// <summary>
    /// A FIFO, a socket name or a regular file is made in the model (<see cref="MmSyscalls.Mknodat"/>). A device
    /// node needs CAP_MKNOD, a privilege of the traced process the log does not show: the replay takes the log's
    /// result, and a device made there is a name the model knows no more of (skipped).
    /// </summary>
    private static void MknodPath(MmSyscalls sys, CallLine call, Outcome outcome, ulong dirfd, int pathArg)
    {
        ulong mode = call.Arg(pathArg + 1);
        if ((mode & SIfMt) is SIfChr or SIfBlk)
        {
            outcome.Kind = OutcomeKind.Skipped;
            outcome.SkipReason = "a device node needs CAP_MKNOD, which the log does not show; outside the model";
            return;
        }

        outcome.SetResult(sys.Mknodat(dirfd, call.ArgString(pathArg), mode));
    }

    /// <summary>
    /// bind(fd, {sa_family=AF_UNIX, sun_path="PATH"}, len): binding a UNIX socket to a path makes the path's socket
    /// name in the model, so that later opens (ENXIO), binds (EADDRINUSE) and unlinks of it see it. The socket is a
    /// descriptor of a call outside the model: EBADF if the descriptor is not open, ENOTSOCK if it is one of the
    /// model's files. Other address families and abstract names (<c>sun_path=@"..."</c>) make no name: skipped.
    /// Linux: net/socket.c __sys_bind(), sockfd_lookup_light(); net/unix/af_unix.c unix_bind_bsd().
    /// </summary>
    public static void Bind(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        string? path = UnixSocketPath(call.ArgText(1));
        if (path is null)
        {
            outcome.Kind = OutcomeKind.Skipped;
            return;
        }

        if (sys.Files.Get(call.Arg(0)) is not { } file)
        {
            outcome.SetResult(SysResult.Fail(Errno.EBADF));
            return;
        }

        // A socket of socket(), socketpair() or accept(), or a descriptor the process inherited, whose kind the log
        // does not show; anything else (the model's files, eventfds, pipes) is not a socket.
        bool socket = file.Path == "inherited"
            || (file.Inode == s_foreignInode && (file.Path.Contains("socket", StringComparison.Ordinal) || file.Path.Contains("accept", StringComparison.Ordinal)));
        if (!socket)
        {
            outcome.SetResult(SysResult.Fail(Errno.ENOTSOCK));
            return;
        }

        SysResult made = sys.Mknodat(unchecked((ulong)-100), path, SIfSock);
        outcome.SetResult(made.IsError && made.Errno == Errno.EEXIST ? SysResult.Fail(Errno.EADDRINUSE) : made);
    }

    /// <summary>The path of strace's <c>{sa_family=AF_UNIX, sun_path="PATH"}</c>, or null (another family, an
    /// abstract name, an empty path, or a structure strace could not read).</summary>
    internal static string? UnixSocketPath(ReadOnlySpan<char> sockaddr)
    {
        if (!sockaddr.Contains("sa_family=AF_UNIX", StringComparison.Ordinal))
        {
            return null;
        }

        const string key = "sun_path=\"";
        int at = sockaddr.IndexOf(key, StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        int open = at + key.Length - 1;
        int close = CStringLiteral.FindClosingQuote(sockaddr, open, sockaddr.Length);
        if (close <= open + 1)
        {
            return null;
        }

        return CStringLiteral.Decode(sockaddr[(open + 1)..close]);
    }

    /// <summary>Ranges of more pages than this keep no vector (a replay prints a vector as strace does, and no log
    /// holds one this long).</summary>
    private const ulong MaxVectorPages = 1 << 22;

    /// <summary>mincore: a NULL (or 0) vector is EFAULT; the residency vector is kept in the outcome, to print and
    /// compare.</summary>
    public static void Mincore(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        bool vecValid = call.ArgKind(2) != TraceArgKind.Null && !(call.ArgKind(2) == TraceArgKind.Integer && call.Arg(2) == 0);
        bool keep = call.Arg(1) / PageConstants.PageSize < MaxVectorPages;
        outcome.SetResult(sys.Mincore(call.Arg(0), call.Arg(1), vecValid, keep ? outcome._vector : null));
    }

    /// <summary>fcntl: the seal commands and F_DUPFD, F_DUPFD_CLOEXEC run; the rest are skipped.</summary>
    public static void Fcntl(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        ReadOnlySpan<char> cmd = call.ArgText(1);
        if (cmd.SequenceEqual("F_ADD_SEALS") || cmd.SequenceEqual("F_GET_SEALS"))
        {
            bool get = cmd.SequenceEqual("F_GET_SEALS");
            outcome.SetResult(sys.FcntlSeals(call.Arg(0), get ? MmSyscalls.FGetSeals : MmSyscalls.FAddSeals, call.ArgCount > 2 ? SymbolValue(call.ArgText(2)) : 0));
            outcome.Spelling = get ? ResultSpelling.Hex : ResultSpelling.Decimal;
            return;
        }

        if (cmd.SequenceEqual("F_DUPFD") || cmd.SequenceEqual("F_DUPFD_CLOEXEC"))
        {
            outcome.SetResult(sys.DupFrom(call.Arg(0), call.ArgCount > 2 ? call.Arg(2) : 0, closeOnExec: cmd.SequenceEqual("F_DUPFD_CLOEXEC")));
            return;
        }

        outcome.Kind = OutcomeKind.Skipped;
    }

    /// <summary>A skipped call that returned a descriptor (or, for pipe, pipe2 and socketpair, wrote two into its
    /// array) occupies it with a foreign file, so that later descriptor numbers match the traced process's.</summary>
    public static void TakeDescriptors(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        outcome.Kind = OutcomeKind.Skipped;
        if (call.Name is "pipe" or "pipe2" or "socketpair")
        {
            if (call.HasResult && call.ResultKind == TraceResultKind.Value && call.ResultValue == 0)
            {
                int arg = call.Name == "socketpair" ? 3 : 0;
                if (arg < call.ArgCount)
                {
                    TakeArrayDescriptors(sys, call.ArgText(arg), call.Name == "socketpair" ? "socket" : "pipe", HasCloexecFlag(call));
                }
            }

            return;
        }

        TakeResultDescriptor(sys, call);
    }

    private static void TakeResultDescriptor(MmSyscalls sys, CallLine call)
    {
        if (call.HasResult && call.ResultKind == TraceResultKind.Value && call.ResultValue is >= 0 and < 1 << 20)
        {
            sys.Files.InstallAt((int)call.ResultValue, new MappedFile(s_foreignInode, "anon_inode:[" + call.Name + "]", true, true));
            sys.Files.SetCloseOnExec((int)call.ResultValue, HasCloexecFlag(call));
        }
    }

    /// <summary>Whether the call's flags ask for close-on-exec (O_CLOEXEC, SOCK_CLOEXEC, EFD_CLOEXEC, ...).</summary>
    private static bool HasCloexecFlag(CallLine call)
    {
        for (int i = 0; i < call.ArgCount; i++)
        {
            if (call.ArgText(i).Contains("CLOEXEC", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>strace's <c>[3, 4]</c> (or <c>[3&lt;pipe:[1]&gt;, 4&lt;pipe:[1]&gt;]</c> with <c>-y</c>).</summary>
    private static void TakeArrayDescriptors(MmSyscalls sys, ReadOnlySpan<char> text, string name, bool cloexec)
    {
        text = text.Trim().TrimStart('[').TrimEnd(']');
        foreach (Range r in text.Split(','))
        {
            ReadOnlySpan<char> part = text[r].Trim();
            int digits = 0;
            while (digits < part.Length && char.IsAsciiDigit(part[digits]))
            {
                digits++;
            }

            if (int.TryParse(part[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out int fd) && fd < 1 << 20)
            {
                sys.Files.InstallAt(fd, new MappedFile(name == "pipe" ? s_pipeInode : s_foreignInode, name, true, true));
                sys.Files.SetCloseOnExec(fd, cloexec);
            }
        }
    }

    /// <summary>A seal argument strace printed as symbols the flags table may not have (F_SEAL_*), or a number.</summary>
    private static ulong SymbolValue(ReadOnlySpan<char> text)
    {
        ulong value = 0;
        foreach (Range r in text.Split('|'))
        {
            ReadOnlySpan<char> term = text[r].Trim();
            if (TraceSymbols.TryGet(term, out ulong v) || IntegerLiteral.Parse(term, out v) == IntegerStatus.Ok)
            {
                value |= v;
            }
        }

        return value;
    }

    /// <summary>fork, vfork, clone, clone3.</summary>
    public static void Spawn(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        outcome.SetResult(engine.Spawn(sys, call));

    /// <summary>exit, exit_group: <c>= ?</c>.</summary>
    public static void Exit(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        engine.Exit(sys, call);
        outcome.Kind = OutcomeKind.NoReturn;
    }

    /// <summary>peek(ADDR, LEN) = HASH, or the signal that stopped it.</summary>
    public static void Peek(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        outcome.Signal = sys.Peek(call.Arg(0), call.Arg(1), out ulong hash);
        outcome.SetResult(SysResult.Ok(hash));
    }

    /// <summary>poke(ADDR, LEN, BYTE) = 0, or the signal that stopped it.</summary>
    public static void Poke(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        outcome.Signal = sys.Poke(call.Arg(0), call.Arg(1), (byte)call.Arg(2));
        outcome.SetResult(SysResult.Ok(0));
    }

    /// <summary>fpeek(FD, OFFSET, LEN) = HASH, or the error of the first read.</summary>
    public static void Fpeek(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        SysResult r = sys.Fpeek(call.Arg(0), call.Arg(1), call.Arg(2), out ulong hash);
        outcome.SetResult(r.IsError ? r : SysResult.Ok(hash));
    }

    /// <summary>failpoint("NAME", N): arms the failure point; echoed with <c>= 0</c>.</summary>
    public static void Failpoint(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        sys.Mm.FailPoints!.Arm(call.ArgString(0), (int)call.Arg(1));
        outcome.Kind = OutcomeKind.Control;
    }
}
