using Mapwright.Cli;
using Mapwright.Mm;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>What a replay learns from a plain log that no line states: descriptors inherited from the tracer's
/// caller, the working directory, the controlling terminal, and children that speak before their fork returns.</summary>
public sealed class PlainLogInferenceTests
{
    /// <summary>Replays <paramref name="trace"/> with <c>--check</c>: the exit code, then standard output and error.</summary>
    internal static (int Exit, string Output) Run(string trace)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "t.strace", new TraceRunOptions { Check = true, Config = new MmConfig() }, stdout, stderr);
        return (exit, stdout.ToString().ReplaceLineEndings("\n") + stderr);
    }

    [Fact]
    [Trait("Linux", "fs/file.c alloc_fd(): the lowest free descriptor; one the log never opened but skipped over was inherited")]
    public void ADescriptorSkippedOverWasInherited()
    {
        var (exit, output) = Run("""
            100 fcntl(2, F_DUPFD, 10) = 11
            100 close(10) = 0
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            100 dup(3) = 10
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("calls: 4 executed, 4 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/open.c close_fd(): EBADF for a descriptor that is not open; the log saying so reveals nothing")]
    public void ADescriptorTheLogShowsClosedStaysClosed()
    {
        var (exit, output) = Run("""
            100 close(10) = -1 EBADF (Bad file descriptor)
            100 fcntl(2, F_DUPFD, 10) = 10
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("2 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/namei.c path_init(): relative names start from the working directory (chdir) or the directory descriptor")]
    public void RelativePathsStartFromTheWorkingDirectory()
    {
        var (exit, output) = Run("""
            chdir("/nonexistent-dir") = -1 ENOENT (No such file or directory)
            chdir("/etc/hostname") = -1 ENOTDIR (Not a directory)
            chdir("/etc") = 0
            openat(AT_FDCWD, "hostname", O_RDONLY) = 3
            openat(AT_FDCWD, "/", O_RDONLY|O_DIRECTORY) = 4
            fchdir(4) = 0
            openat(AT_FDCWD, "hostname", O_RDONLY) = -1 ENOENT (No such file or directory)
            openat(AT_FDCWD, "etc/hostname", O_RDONLY) = 5
            openat(3, "x", O_RDONLY) = -1 ENOTDIR (Not a directory)
            openat(4, "etc/hostname", O_RDONLY) = 6
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("10 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "drivers/tty/tty_io.c tty_open_current_tty(): /dev/tty is ENXIO without a controlling terminal; the log says which")]
    public void TheControllingTerminalIsTakenFromTheLog()
    {
        var (exit, output) = Run("""
            openat(AT_FDCWD, "/dev/tty", O_RDWR|O_NONBLOCK) = -1 ENXIO (No such device or address)
            openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            openat(AT_FDCWD, "/dev/tty", O_RDWR) = 4
            openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 5
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("2 matched, 0 diverged, 2 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/fork.c: the child exists once fork has copied the parent, before fork returns in the parent (strace -f prints the child first)")]
    public void AChildThatSpeaksBeforeItsForkReturnsRunsInACopy()
    {
        var (exit, output) = Run("""
            100 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
            100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
            101 munmap(0x7ffff7ffe000, 4096) = 0
            100 <... clone resumed>, child_tidptr=0x7ffff7d9ea10) = 101
            100 munmap(0x7ffff7ffe000, 4096) = 0
            101 exit_group(0) = ?
            """);
        Assert.True(exit == 0, output);
        // The child's munmap ran in its own copy: the parent's mapping was still there to unmap.
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("# skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/exit.c do_group_exit(): exit_group ends every thread of the group; exit ends one thread")]
    public void ExitGroupEndsEveryThreadAndExitOnlyOne()
    {
        var (exit, output) = Run("""
            100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff65ce000, stack_size=0x7fff80}, 88) = 102
            101 exit(0) = ?
            102 munmap(0x7ffff7ffe000, 4096) = 0
            100 exit_group(0) = ?
            102 munmap(0x7ffff7ffe000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        // 102 still ran after 101's exit; after exit_group no thread of the group is left.
        Assert.Contains("102 munmap(0x7ffff7ffe000, 4096) = 0\n", output, StringComparison.Ordinal);
        Assert.Contains("# skipped t.strace:7: pid 102 is not a live process", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    [Trait("Linux", "fs/exec.c de_thread(): a thread's execve ends the other threads and returns in the leader with a new address space")]
    public void AThreadsExecveReplacesTheGroupsAddressSpace()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/bin/true"), "needs /bin/true");
        var (exit, output) = Run("""
            100 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101
            101 execve("/bin/true", ["true"], ["A=1"] <unfinished ...>
            100 +++ superseded by execve in pid 101 +++
            100 <... execve resumed>) = 0
            100 munmap(0x7ffff7ffe000, 4096) = 0
            101 munmap(0x7ffff7ffe000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("100 execve(\"/bin/true\"", output, StringComparison.Ordinal);
        // The thread is gone; its old address space with it.
        Assert.Contains("# skipped t.strace:7: pid 101 is not a live process", output, StringComparison.Ordinal);
    }

    private const string Thread101 =
        "100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101\n";

    [Fact]
    [Trait("Linux", "fs/open.c do_sys_openat2(): get_unused_fd_flags() takes the number at the call's entry, before the open blocks; fs/fcntl.c f_dupfd() and other threads' opens skip it")]
    public void AnOpenInFlightKeepsTheNumberItTookOnEntry()
    {
        // Linux gave 3 to thread 101's open on entry (a FIFO, say); 100's calls, which returned first, took 4 and 5.
        var (exit, output) = Run(Thread101 + """
            101 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4
            100 fcntl(4, F_DUPFD, 0) = 5
            101 <... openat resumed>) = 3
            100 close(3) = 0
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            """);
        Assert.True(exit == 0, output);
    }

    [Fact]
    [Trait("Linux", "fs/file.c alloc_fd(): a call that reached the allocation only after other threads' calls printed meanwhile takes the lowest number of that moment")]
    public void AnOpenInFlightTakesANumberFreedMeanwhileWhenTheLogSaysSo()
    {
        // strace printed 101's entry, then 100's close; 101's thread reached get_unused_fd_flags() after the close.
        var (exit, output) = Run(Thread101 + """
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            101 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>
            100 close(3) = 0
            101 <... openat resumed>) = 3
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4
            """);
        Assert.True(exit == 0, output);
    }

    [Fact]
    [Trait("Linux", "fs/file.c alloc_fd() runs when the call runs: a thread held at strace's entry stop has taken no number, and another thread's open may take the lowest (seen in a JVM's start-up)")]
    public void AnotherThreadsOpenTakesTheNumberAnOpenInFlightHadNotReachedYet()
    {
        var (exit, output) = Run(Thread101 + """
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff65ce000, stack_size=0x7fff80}, 88) = 102
            101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>
            102 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            102 close(3) = 0
            102 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3
            101 <... openat resumed>) = 4
            100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 5
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/file.c alloc_fd() runs when the call runs: of two opens in flight, the one that entered later may take the lower number (seen in a JVM's start-up)")]
    public void OfTwoOpensInFlightTheLaterMayTakeTheLowerNumber()
    {
        var (exit, output) = Run(Thread101 + """
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff65ce000, stack_size=0x7fff80}, 88) = 102
            101 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>
            102 openat(AT_FDCWD, "/etc/hostname", O_RDONLY <unfinished ...>
            102 <... openat resumed>) = 3
            101 <... openat resumed>) = 4
            100 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 5
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/file.c alloc_fd(): the lowest free number at entry or at return; any other number is a divergence")]
    public void AnOpenInFlightWithANumberNoMomentGaveDiverges()
    {
        var (exit, output) = Run(Thread101 + """
            101 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4
            101 <... openat resumed>) = 7
            """);
        Assert.Equal(1, exit);
        Assert.Contains("# diverged t.strace:2: expected 7, produced 3", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/exit.c: a thread that ends inside an open never installs its descriptor; the number is free again")]
    public void AThreadThatEndsInsideAnOpenFreesItsNumber()
    {
        var (exit, output) = Run(Thread101 + """
            101 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>
            100 exit_group(0) = ?
            """ + "\n" + """
            200 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            """);
        Assert.True(exit == 0, output);
    }

    [Fact]
    [Trait("Linux", "kernel/exit.c do_group_exit(): a thread inside a call when its process exits never returns from it; strace prints its resumed half as = ?")]
    public void ACallInFlightWhenItsProcessEndsIsSkippedAsNeverReturned()
    {
        var (exit, output) = Run(Thread101 + """
            101 openat(AT_FDCWD, "/etc/passwd", O_RDONLY <unfinished ...>
            100 exit_group(0) = ?
            101 <... openat resumed>) = ?
            101 +++ exited with 0 +++
            100 +++ exited with 0 +++
            """);
        Assert.True(exit == 0, output);
        Assert.Contains(": pid 101 ended while this call was in flight: it never returned (= ?)", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c: mmap takes the mmap lock; two threads' calls that overlap in time run in an order strace cannot show, and a divergence there says so")]
    public void ADivergenceOfOverlappingThreadCallsSaysTheOrderIsUndetermined()
    {
        // The kernel ran 102's mmap first (it took the highest hole), though 101's result was printed first.
        var (exit, output) = Run("""
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff65ce000, stack_size=0x7fff80}, 88) = 102
            101 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>
            102 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0 <unfinished ...>
            101 <... mmap resumed>) = 0x7ffff7ffc000
            102 <... mmap resumed>) = 0x7ffff7ffd000
            100 munmap(0x7ffff7ff0001, 4096) = 0
            """);
        Assert.Equal(1, exit);
        // Line 7 diverges too (an unaligned munmap is EINVAL), but it overlapped no other thread's call.
        Assert.Contains("# diverged t.strace:7:", output, StringComparison.Ordinal);
        Assert.Contains("# note t.strace:3: order undetermined: this call overlapped calls of thread 102", output, StringComparison.Ordinal);
        Assert.Contains("# note t.strace:4: order undetermined: this call overlapped calls of thread 101", output, StringComparison.Ordinal);
        Assert.DoesNotContain("# note t.strace:7", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/fork.c: a child whose fork already returned speaks for itself; only a PID nothing created yet is a spawn still in flight")]
    public void AChildOfAFinishedForkDoesNotTakeTheNextPendingFork()
    {
        var (exit, output) = Run("""
            100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0) = 200
            100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
            200 munmap(0x7ffff7f00000, 4096) = 0
            100 <... clone resumed>, child_tidptr=0x7f0) = 201
            201 munmap(0x7ffff7f00000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("# skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/fork.c copy_files(): a vfork child without CLONE_FILES closes descriptors in its own copy of the table")]
    public void AVforkChildsCloseLeavesTheParentsDescriptor()
    {
        var (exit, output) = Run("""
            100 openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            100 vfork() = 101
            101 close(3) = 0
            101 exit_group(0) = ?
            100 close(3) = 0
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "kernel/exit.c do_group_exit(): exit_group ends the caller's thread group only; a PID reused by a new process is not in it")]
    public void AReusedPidIsNotInTheOldThreadGroup()
    {
        var (exit, output) = Run("""
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, stack=0x7ffff6dcf000, stack_size=0x7fff80}, 88) = 101
            101 exit(0) = ?
            100 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0) = 101
            100 exit_group(0) = ?
            101 munmap(0x7ffff7f00000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        Assert.DoesNotContain("# skipped", output, StringComparison.Ordinal);
    }

    [SkippableFact]
    [Trait("Linux", "fs/namei.c do_open() handle_truncate(): O_TRUNC empties the one inode every descriptor and mapping of the file shares; a page past the end is SIGBUS")]
    public void AWriteOpenTruncatesTheInodeOthersHaveOpenAndMapped()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && new FileInfo("/etc/hostname") is { Exists: true, Length: > 0 }, "needs a non-empty /etc/hostname");
        var (exit, output) = Run("""
            openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3
            mmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0) = 0x7ffff7ffe000
            peek(0x7ffff7ffe000, 1)
            openat(AT_FDCWD, "/etc/hostname", O_RDWR|O_TRUNC) = 4
            peek(0x7ffff7ffe000, 1) = SIGBUS
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("Linux", "strace -f to standard error prefixes [pid N] only once a second process exists: the first process's unprefixed fork resumes under its PID")]
    [InlineData("""
        mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
        clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
        [pid   101] munmap(0x7ffff7ffe000, 4096) = 0
        [pid   100] <... clone resumed>, child_tidptr=0x7f0) = 101
        [pid   100] munmap(0x7ffff7ffe000, 4096) = 0
        """)]
    [InlineData("""
        mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
        clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
        [pid   100] <... clone resumed>, child_tidptr=0x7f0) = 101
        [pid   101] munmap(0x7ffff7ffe000, 4096) = 0
        [pid   100] munmap(0x7ffff7ffe000, 4096) = 0
        """)]
    public void AnUnprefixedMainProcessResumesUnderItsPid(string trace)
    {
        var (exit, output) = Run(trace);
        Assert.True(exit == 0, output);
        // Parent and child each unmap their own copy: nothing skipped, nothing diverged.
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("# skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: a line of a PID that no fork line created is skipped (the -o prefix form)")]
    public void AnUnknownPidOfTheOPrefixFormIsStillSkipped()
    {
        var (exit, output) = Run("""
            mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
            fork() = 2
            3 munmap(0x7ffff7ffe000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("# skipped t.strace:3: pid 3 is not a live process", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "strace -f to standard error cuts a call line with 'strace: Process N attached' and goes on on the next line")]
    public void AStraceMessageInsideACallLineIsCutOut()
    {
        var (exit, output) = Run("""
            mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000
            vfork(strace: Process 101 attached
             <unfinished ...>
            [pid   101] munmap(0x7ffff7ffe000, 4096) = 0
            [pid   100] <... vfork resumed>)        = 101
            [pid   100] munmap(0x7ffff7ffe000, 4096) = 0
            """);
        Assert.True(exit == 0, output);
        // The cut line is read as one vfork call (otherwise "vfork(" is malformed and the run stops with exit 2).
        Assert.Contains("vfork() = 101", output, StringComparison.Ordinal);
        Assert.Contains("4 matched, 0 diverged", output, StringComparison.Ordinal);
        Assert.DoesNotContain("# skipped", output, StringComparison.Ordinal);
    }
}
