using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceParserTests
{
    private const string Lines = "trace-format.md: Lines";

    [Fact]
    [Trait("Rule", Lines)]
    public void BlankLinesAndCommentsAreIgnoredAndNotCounted()
    {
        var doc = TraceParser.Parse("\n   \n# a comment\n   # indented comment\n\t\nmaps()\n", "t.trace");

        Assert.Empty(doc.Errors);
        var call = Assert.Single(doc.Calls);
        Assert.Equal(6, call.Line);
        Assert.Equal(0, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Lines)]
    public void CrLfLineEndsAreAccepted()
    {
        var doc = TraceParser.Parse("maps()\r\nmunmap(0x1000, 4096) = 0\r\n", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(2, doc.Calls.Count);
        Assert.Equal(2, doc.Calls[1].Line);
        Assert.Equal("munmap(0x1000, 4096)", doc.Calls[1].CallText);
    }

    [Theory]
    [Trait("Rule", "trace-format.md: Lines (strace -f PID prefix)")]
    [InlineData("12345 munmap(0x1000, 4096) = 0", 12345)]
    [InlineData("7    munmap(0x1000, 4096) = 0", 7)]
    [InlineData("[pid 12345] munmap(0x1000, 4096) = 0", 12345)]
    [InlineData("[pid    42] munmap(0x1000, 4096) = 0", 42)]
    [InlineData("  [pid 42]munmap(0x1000, 4096) = 0", 42)]
    public void APidPrefixIsReadAndNotPartOfTheCallText(string line, int pid)
    {
        var doc = TraceParser.Parse(line, "t.trace");

        Assert.Empty(doc.Errors);
        var call = Assert.Single(doc.Calls);
        Assert.Equal(pid, call.Pid);
        Assert.Equal("munmap(0x1000, 4096)", call.CallText);
    }

    [Fact]
    [Trait("Rule", Lines)]
    public void ALineWithoutPidHasANullPid()
    {
        Assert.Null(Assert.Single(TraceParser.Parse("maps()", "t.trace").Calls).Pid);
    }

    [Fact]
    [Trait("Rule", Lines)]
    public void CallTextIsTheCallAsWrittenWithoutResultOrTiming()
    {
        var call = Assert.Single(TraceParser.Parse(
            "  99 mmap(NULL,4096, PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)   = 0x7ffff7ff6000 <0.000010>  ",
            "t.trace").Calls);

        Assert.Equal("mmap(NULL,4096, PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", call.CallText);
        Assert.Equal("mmap", call.Name);
        Assert.Equal("t.trace", call.FileName);
        Assert.Equal(1, call.Line);
    }

    [Theory]
    [Trait("Rule", "trace-format.md: Lines (strace non-call lines)")]
    [InlineData("+++ exited with 0 +++")]
    [InlineData("12345 +++ killed by SIGSEGV (core dumped) +++")]
    [InlineData("--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10} ---")]
    [InlineData("[pid 12346] --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=12347, si_uid=1000, si_status=0, si_utime=0, si_stime=0} ---")]
    [InlineData("--- stopped by SIGSTOP ---")]
    [InlineData("strace: Process 12346 attached")]
    public void StraceNonCallLinesAreSkippedAndCounted(string line)
    {
        var doc = TraceParser.Parse(line + "\nmaps()", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Single(doc.Calls);
        Assert.Equal(1, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Calls (others are skipped)")]
    public void UnknownCallsAreKeptWithLooselyLexedArguments()
    {
        var doc = TraceParser.Parse(
            """
            fstat(3, {st_mode=S_IFREG|0644, st_size=1234, ...}) = 0
            rt_sigaction(SIGRTMIN, {sa_handler=0x7f, sa_mask=[], sa_flags=SA_RESTORER|SA_SIGINFO}, NULL, 8) = 0
            execve("/bin/true", ["/bin/true"], 0x7ffe3a9d1e28 /* 20 vars */) = 0
            arch_prctl(ARCH_SET_FS, 0x7ffff7d8a740) = 0
            rt_sigprocmask(SIG_BLOCK, ~[RTMIN RT_1], [], 8) = 0
            exit_group(0)                     = ?
            restart_syscall(<... resuming interrupted read ...>) = 0
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(["fstat", "rt_sigaction", "execve", "arch_prctl", "rt_sigprocmask", "exit_group", "restart_syscall"], doc.Calls.Select(c => c.Name));
        // exit_group and execve are run (they end or replace a process's address space); the others are not.
        Assert.All(doc.Calls.Where(c => c.Name is not ("exit_group" or "execve")), c => Assert.False(SyscallTable.TryGet(c.Name, out _)));
        Assert.True(SyscallTable.TryGet("exit_group", out _));
        Assert.True(SyscallTable.TryGet("execve", out _));
        Assert.Equal(TraceArgKind.Opaque, doc.Calls[1].Args[0].Kind);
        Assert.Equal("SIGRTMIN", doc.Calls[1].Args[0].Text);
        Assert.Equal(TraceArgKind.Null, doc.Calls[1].Args[2].Kind);
        Assert.Equal(TraceArgKind.Integer, doc.Calls[2].Args[2].Kind);
        Assert.Equal(0x7ffe3a9d1e28UL, doc.Calls[2].Args[2].Value);
        Assert.Equal(TraceArgKind.Opaque, doc.Calls[4].Args[1].Kind);
        Assert.Equal(TraceResultKind.Unknown, doc.Calls[5].Result!.Kind);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Calls (others are skipped)")]
    public void UnknownCallsAreNotCheckedForArity()
    {
        var doc = TraceParser.Parse("read(3, \"\\177ELF\"..., 832, 1, 2, 3) = 832", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(6, Assert.Single(doc.Calls).Args.Count);
    }

    [Fact]
    [Trait("Rule", Lines)]
    public void AByteOrderMarkAtTheStartIsIgnored()
    {
        var doc = TraceParser.Parse("\uFEFFmaps()\n", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal("maps", Assert.Single(doc.Calls).Name);
    }

    [Fact]
    [Trait("Rule", Lines)]
    public void AnEmptyTraceHasNoCallsNoErrorsAndNothingSkipped()
    {
        var doc = TraceParser.Parse("", "t.trace");

        Assert.Empty(doc.Calls);
        Assert.Empty(doc.Errors);
        Assert.Equal(0, doc.SkippedLines);
    }
}
