using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceUnfinishedResumedTests
{
    private const string Rule = "trace-format.md: Lines (<unfinished ...> / <... NAME resumed> joined or skipped)";

    [Fact]
    [Trait("Rule", Rule)]
    public void AnUnfinishedCallIsJoinedWithItsResumedLineOfTheSamePid()
    {
        var doc = TraceParser.Parse(
            """
            123 mmap(NULL, 4096, PROT_READ <unfinished ...>
            124 munmap(0x7ffff7fbc000, 4096) = 0
            123 <... mmap resumed>, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ff6000
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(0, doc.SkippedLines);
        Assert.Equal(2, doc.Calls.Count);
        var mmap = doc.Calls[1];
        Assert.Equal("mmap", mmap.Name);
        Assert.Equal(1, mmap.Line);
        Assert.Equal(123, mmap.Pid);
        Assert.Equal(6, mmap.Args.Count);
        Assert.Equal(0x22UL, mmap.Args[3].Value);
        Assert.Equal("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", mmap.CallText);
        Assert.Equal(0x7ffff7ff6000L, mmap.Result!.Value);
    }

    [Fact]
    [Trait("Linux", "fs/exec.c de_thread(): a thread's execve returns in the thread group leader; strace prints +++ superseded by execve in pid N +++ and the leader's <... execve resumed>")]
    public void AThreadsExecveIsResumedByItsLeader()
    {
        var doc = TraceParser.Parse(
            """
            100 clone3({flags=CLONE_VM|CLONE_THREAD, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101
            101 execve("/bin/true", ["true"], [] <unfinished ...>
            100 +++ superseded by execve in pid 101 +++
            100 <... execve resumed>) = 0
            100 exit_group(0) = ?
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        var execve = Assert.Single(doc.Calls, c => c.Name == "execve");
        Assert.Equal(100, execve.Pid);
        Assert.Equal(2, execve.Line);
        Assert.Equal(0L, execve.Result!.Value);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AJoinedCallTakesItsPlaceWhenItsResultIsKnown()
    {
        var doc = TraceParser.Parse(
            """
            [pid 10] mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>
            [pid 11] maps()
            [pid 10] <... mmap resumed>)         = 0x7ffff7ff6000
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(["maps", "mmap"], doc.Calls.Select(c => c.Name));
        Assert.Equal("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)", doc.Calls[1].CallText);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AHeadEndingInACommaIsJoinedWithASpace()
    {
        var doc = TraceParser.Parse(
            """
            5 read(3,  <unfinished ...>
            5 <... read resumed>"\177ELF\2\1\1", 832) = 832
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        var call = Assert.Single(doc.Calls);
        Assert.Equal("read(3, \"\\177ELF\\2\\1\\1\", 832)", call.CallText);
        Assert.Equal("\u007fELF\u0002\u0001\u0001", call.Args[1].Text);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void WithoutPidsTheHalvesAreMatchedByName()
    {
        var doc = TraceParser.Parse(
            """
            munmap(0x1000, 4096 <unfinished ...>
            mprotect(0x2000, 4096, PROT_READ <unfinished ...>
            <... munmap resumed>) = 0
            <... mprotect resumed>) = -1 ENOMEM (Cannot allocate memory)
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Equal(["munmap", "mprotect"], doc.Calls.Select(c => c.Name));
        Assert.Equal([1, 2], doc.Calls.Select(c => c.Line));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void HalvesOfDifferentPidsAreNotJoined()
    {
        var doc = TraceParser.Parse(
            """
            1 munmap(0x1000, 4096 <unfinished ...>
            2 <... munmap resumed>) = 0
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Empty(doc.Calls);
        Assert.Equal(2, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AnUnfinishedCallNeverResumedIsSkippedAndCounted()
    {
        var doc = TraceParser.Parse(
            """
            1 munmap(0x1000, 4096 <unfinished ...>
            1 +++ killed by SIGKILL +++
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Empty(doc.Calls);
        Assert.Equal(2, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AResumedLineWithoutUnfinishedHalfIsSkippedAndCounted()
    {
        var doc = TraceParser.Parse("<... mmap resumed>) = 0x7ffff7ff6000\nmaps()", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Single(doc.Calls);
        Assert.Equal(1, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void ASecondUnfinishedCallOfTheSamePidOrphansTheFirst()
    {
        var doc = TraceParser.Parse(
            """
            1 munmap(0x1000, 4096 <unfinished ...>
            1 munmap(0x2000, 4096 <unfinished ...>
            1 <... munmap resumed>) = 0
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        var call = Assert.Single(doc.Calls);
        Assert.Equal(0x2000UL, call.Args[0].Value);
        Assert.Equal(2, call.Line);
        Assert.Equal(1, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void ACallInterruptedByTheProcessDyingIsSkipped()
    {
        var doc = TraceParser.Parse(
            """
            1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>
            1 <... mmap resumed> <unfinished ...>) = ?
            1 +++ killed by SIGKILL +++
            """,
            "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Empty(doc.Calls);
        Assert.Equal(3, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void ADetachedCallIsSkipped()
    {
        var doc = TraceParser.Parse("1 read(0,  <detached ...>", "t.trace");

        Assert.Empty(doc.Errors);
        Assert.Empty(doc.Calls);
        Assert.Equal(1, doc.SkippedLines);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AnErrorInTheResumedHalfIsReportedOnTheResumedLine()
    {
        var doc = TraceParser.Parse(
            """
            1 mmap(NULL, 4096, PROT_READ <unfinished ...>
            2 maps()
            1 <... mmap resumed>, MAP_PRIVTE, -1, 0) = 0x1000
            """,
            "t.trace");

        Assert.Equal(["t.trace:3: unknown symbol 'MAP_PRIVTE'"], doc.Errors.Select(e => e.ToString()));
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void AnErrorInTheUnfinishedHalfIsReportedOnTheUnfinishedLineInLineOrder()
    {
        var doc = TraceParser.Parse(
            """
            1 mmap(NULL, 4096, PROT_RAED <unfinished ...>
            2 munmap(0x1000)
            1 <... mmap resumed>, MAP_PRIVATE, -1, 0) = 0x1000
            """,
            "t.trace");

        Assert.Equal(
            ["t.trace:1: unknown symbol 'PROT_RAED'", "t.trace:2: munmap expects 2 arguments, got 1"],
            doc.Errors.Select(e => e.ToString()));
    }
}
