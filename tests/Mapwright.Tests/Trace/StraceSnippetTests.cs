using Mapwright.Abi;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>Real <c>strace -f</c> output of dynamically linked programs (x86-64, glibc 2.36), as a user
/// would hand it to the runner: everything parses, the memory calls strictly, the rest loosely.</summary>
public sealed class StraceSnippetTests
{
    private const string Rule = "trace-format.md: Lines (replay strace output of a real process)";

    private const string TrueWithOutputFile = """
        12345 execve("/bin/true", ["/bin/true"], 0x7fffffffe3f8 /* 20 vars */) = 0
        12345 brk(NULL)                         = 0x555555559000
        12345 arch_prctl(0x3001 /* ARCH_??? */, 0x7fffffffe1e0) = -1 EINVAL (Invalid argument)
        12345 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc3000
        12345 access("/etc/ld.so.preload", R_OK) = -1 ENOENT (No such file or directory)
        12345 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3
        12345 newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=27046, ...}, AT_EMPTY_PATH) = 0
        12345 fstat(3, {st_mode=S_IFREG|0644, st_size=27046, ...}) = 0
        12345 mmap(NULL, 27046, PROT_READ, MAP_PRIVATE, 3, 0) = 0x7ffff7fbc000
        12345 close(3)                          = 0
        12345 openat(AT_FDCWD, "/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY|O_CLOEXEC) = 3
        12345 read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0P\237\2\0\0\0\0\0"..., 832) = 832
        12345 pread64(3, "\6\0\0\0\4\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0@\0\0\0\0\0\0\0"..., 784, 64) = 784
        12345 mmap(NULL, 1970000, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, 3, 0) = 0x7ffff7dda000
        12345 mmap(0x7ffff7e00000, 1396736, PROT_READ|PROT_EXEC, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x26000) = 0x7ffff7e00000
        12345 mmap(0x7ffff7f55000, 339968, PROT_READ, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x17b000) = 0x7ffff7f55000
        12345 mmap(0x7ffff7fa8000, 24576, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE, 3, 0x1ce000) = 0x7ffff7fa8000
        12345 mmap(0x7ffff7fae000, 53072, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fae000
        12345 close(3)                          = 0
        12345 mmap(NULL, 12288, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7dd7000
        12345 arch_prctl(ARCH_SET_FS, 0x7ffff7dd7740) = 0
        12345 set_tid_address(0x7ffff7dd7a10)   = 12345
        12345 set_robust_list(0x7ffff7dd7a20, 24) = 0
        12345 rseq(0x7ffff7dd8060, 0x20, 0, 0x53053053) = 0
        12345 mprotect(0x7ffff7fa8000, 16384, PROT_READ) = 0
        12345 mprotect(0x555555557000, 4096, PROT_READ) = 0
        12345 mprotect(0x7ffff7ffb000, 8192, PROT_READ) = 0
        12345 prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0
        12345 munmap(0x7ffff7fbc000, 27046)     = 0
        12345 getrandom("\x5a\x1b\x2c\x3d\x4e\x5f\x60\x71", 8, GRND_NONBLOCK) = 8
        12345 brk(NULL)                         = 0x555555559000
        12345 brk(0x55555557a000)               = 0x55555557a000
        12345 exit_group(0)                     = ?
        12345 +++ exited with 0 +++
        """;

    private const string ThreadedWithoutOutputFile = """
        execve("./threads", ["./threads"], 0x7fffffffe3f8 /* 20 vars */) = 0
        rt_sigaction(SIGRTMIN, {sa_handler=0x7ffff7e4a8f0, sa_mask=[], sa_flags=SA_RESTORER|SA_ONSTACK|SA_RESTART|SA_SIGINFO, sa_restorer=0x7ffff7e37050}, NULL, 8) = 0
        rt_sigprocmask(SIG_BLOCK, ~[], [], 8)   = 0
        mmap(NULL, 8392704, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK, -1, 0) = 0x7ffff75d6000
        mprotect(0x7ffff75d7000, 8388608, PROT_READ|PROT_WRITE) = 0
        clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7ffff7dd6990, parent_tid=0x7ffff7dd6990, exit_signal=0, stack=0x7ffff75d6000, stack_size=0x7fff80, tls=0x7ffff7dd66c0} => {parent_tid=[12346]}, 88) = 12346
        strace: Process 12346 attached
        [pid 12346] set_robust_list(0x7ffff7dd69a0, 24 <unfinished ...>
        [pid 12345] futex(0x7ffff7dd6990, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 12346, NULL, FUTEX_BITSET_MATCH_ANY <unfinished ...>
        [pid 12346] <... set_robust_list resumed>) = 0
        [pid 12346] mmap(NULL, 134217728, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0 <unfinished ...>
        [pid 12346] <... mmap resumed>)         = 0x7fffef5d6000
        [pid 12346] munmap(0x7fffef5d6000, 44212224) = 0
        [pid 12346] munmap(0x7ffff4000000, 22896640) = 0
        [pid 12346] mprotect(0x7ffff0000000, 135168, PROT_READ|PROT_WRITE) = 0
        [pid 12346] madvise(0x7ffff75d6000, 8368128, MADV_DONTNEED) = 0
        [pid 12346] exit(0)                     = ?
        [pid 12345] <... futex resumed>)        = 0
        [pid 12346] +++ exited with 0 +++
        ioctl(1, TCGETS, {c_iflag=ICRNL|IXON, c_oflag=NL0|CR0|TAB0|BS0|VT0|FF0|OPOST|ONLCR, c_cflag=B38400|CS8|CREAD, c_lflag=ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE, ...}) = 0
        fcntl(3, F_GETFL)                       = 0x8002 (flags O_RDWR|O_LARGEFILE)
        socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 3
        connect(3, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
        wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = 12347
        --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=12347, si_uid=1000, si_status=0, si_utime=0, si_stime=0} ---
        write(1, "done\n", 5)                   = 5
        mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff6000 <0.000011>
        --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_ACCERR, si_addr=0x7ffff7ff6000} ---
        +++ killed by SIGSEGV (core dumped) +++
        """;

    [Fact]
    [Trait("Rule", Rule)]
    public void ADynamicallyLinkedProgramsStartupParsesWithoutErrors()
    {
        var doc = TraceParser.Parse(TrueWithOutputFile, "true.strace");

        Assert.Empty(doc.Errors);
        Assert.Equal(33, doc.Calls.Count);
        Assert.Equal(1, doc.SkippedLines);
        Assert.All(doc.Calls, c => Assert.Equal(12345, c.Pid));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void TheMemoryCallsOfAStartupAreReadExactly()
    {
        var doc = TraceParser.Parse(TrueWithOutputFile, "true.strace");

        var mmap = doc.Calls[3];
        Assert.Equal("mmap", mmap.Name);
        Assert.Equal(4, mmap.Line);
        Assert.Equal(
            [TraceArgKind.Null, TraceArgKind.Integer, TraceArgKind.Flags, TraceArgKind.Flags, TraceArgKind.Integer, TraceArgKind.Integer],
            mmap.Args.Select(a => a.Kind));
        Assert.Equal(8192UL, mmap.Args[1].Value);
        Assert.Equal(0x3UL, mmap.Args[2].Value);
        Assert.Equal(0x22UL, mmap.Args[3].Value);
        Assert.Equal(ulong.MaxValue, mmap.Args[4].Value);
        Assert.Equal(0x7ffff7fc3000L, mmap.Result!.Value);

        var openat = doc.Calls[5];
        Assert.Equal(TraceArgKind.AtFdcwd, openat.Args[0].Kind);
        Assert.Equal("/etc/ld.so.cache", openat.Args[1].Text);
        Assert.Equal(0x80000UL, openat.Args[2].Value);
        Assert.Equal(3L, openat.Result!.Value);

        var fixedMap = doc.Calls[14];
        Assert.Equal(0x26000UL, fixedMap.Args[5].Value);
        Assert.Equal(0x812UL, fixedMap.Args[3].Value);

        var access = doc.Calls[4];
        Assert.Equal(TraceResultKind.Error, access.Result!.Kind);
        Assert.Equal(Errno.ENOENT, access.Result.Errno);

        var read = doc.Calls[11];
        Assert.Equal(TraceArgKind.String, read.Args[1].Kind);
        Assert.StartsWith("\u007fELF\u0002\u0001\u0001\u0003", read.Args[1].Text, StringComparison.Ordinal);

        Assert.Equal(TraceResultKind.Unknown, doc.Calls[^1].Result!.Kind);
        Assert.Equal("exit_group", doc.Calls[^1].Name);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AThreadedProgramWithInterleavedUnfinishedCallsParsesWithoutErrors()
    {
        var doc = TraceParser.Parse(ThreadedWithoutOutputFile, "threads.strace");

        Assert.Empty(doc.Errors);
        Assert.Equal(5, doc.SkippedLines);
        Assert.Equal(21, doc.Calls.Count);

        var joined = doc.Calls.Single(c => c.Name == "mmap" && c.Pid == 12346);
        Assert.Equal(11, joined.Line);
        Assert.Equal(0x7fffef5d6000L, joined.Result!.Value);
        Assert.Equal(0x4022UL, joined.Args[3].Value);

        var futex = doc.Calls.Single(c => c.Name == "futex");
        Assert.Equal(9, futex.Line);
        Assert.Equal(5, futex.Args.Count);

        var clone = doc.Calls.Single(c => c.Name == "clone3");
        Assert.Equal(TraceArgKind.Opaque, clone.Args[0].Kind);
        Assert.Equal(12346L, clone.Result!.Value);

        Assert.Equal(12347L, doc.Calls.Single(c => c.Name == "wait4").Result!.Value);
        Assert.Equal(0x8002L, doc.Calls.Single(c => c.Name == "fcntl").Result!.Value);
        Assert.Equal("done\n", doc.Calls.Single(c => c.Name == "write").Args[1].Text);
    }
}
