using Mapwright.Cli;
using Mapwright.Mm;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Cli;

/// <summary>The <c>run</c> and <c>demo</c> commands as a user meets them: output, summary, exit codes.</summary>
public sealed class RunCommandTests
{
    private static readonly TraceRunOptions s_options = new() { Config = new MmConfig() };

    private static (int Exit, string Out, string Err) Run(string trace, TraceRunOptions? options = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "t.trace", options ?? s_options, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    [Trait("Rule", "trace-format.md: a line without a result is printed back with the produced result")]
    public void ExecutesEachLineAndPrintsItsResultInStraceSpelling()
    {
        var (exit, output, err) = Run("mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmunmap(0x1001, 4096)\n");
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, err);
        Assert.Equal(
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffd000\n"
            + "munmap(0x1001, 4096) = -1 EINVAL (Invalid argument)\n"
            + "calls: 2 executed, 0 matched, 0 diverged, 0 skipped\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    [Trait("Rule", "trace-format.md: maps() is echoed as the line maps() followed by the maps lines, nothing else")]
    public void MapsPrintsTheProcMapsTextOfThatMoment()
    {
        var (_, output, _) = Run("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmaps()\n");
        Assert.Contains("maps()\n7ffff7ffe000-7ffff7fff000 r--p 00000000 00:00 0 \ncalls:", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: malformed input is FILE:LINE: message and exit code 2, before anything runs")]
    public void MalformedLinesAreReportedWithFileAndLineAndNothingRuns()
    {
        var (exit, output, err) = Run("mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmunmap(0x1000\nmprotect(0x1000, 4096, PROT_BOGUS)\n");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, output);
        string[] lines = err.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("t.trace:2: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("t.trace:3: ", lines[1], StringComparison.Ordinal);
        Assert.Contains("PROT_BOGUS", lines[1], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    /// <summary>60 mappings that cannot merge (alternating protections), then <paramref name="views"/> maps()
    /// calls: some 3 KiB of output each.</summary>
    private static string ManyViews(int views)
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < 60; i++)
        {
            sb.Append(i % 2 == 0 ? "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n" : "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
        }

        for (int i = 0; i < views; i++)
        {
            sb.Append("maps()\n");
        }

        return sb.ToString();
    }

    [Fact]
    [Trait("Rule", "issue 8: a file's output is held back until the whole file is checked; past GatedStream.Limit of held output a check of its own ends the wait, and every held byte is then written, in order")]
    public void OutputBeyondTheHeldLimitIsAllWrittenOnceTheFileIsChecked()
    {
        const int Views = 12000;
        var (exit, output, err) = Run(ManyViews(Views));
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, err);
        Assert.True(output.Length > GatedStream.Limit, $"only {output.Length} bytes: the limit was not reached");
        Assert.Equal(Views, output.Split("maps()\n").Length - 1);
        Assert.EndsWith($"calls: 60 executed, 0 matched, 0 diverged, 0 skipped\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: malformed input is FILE:LINE and exit 2 before any output, even after more output than GatedStream.Limit ran")]
    public void AMalformedLastLineAfterMoreThanTheHeldLimitStillRunsNothing()
    {
        const int Views = 12000;
        var (exit, output, err) = Run(ManyViews(Views) + "munmap(0x1000\n");
        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, output);
        Assert.Equal($"t.trace:{60 + Views + 1}: unbalanced parenthesis\n", err.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    [Trait("Rule", "issue 8 exit codes: a model BUG early in a long file is exit 3 with one line; a malformed line after it makes it exit 2 with FILE:LINE (the check reads the whole file first), never a stack trace")]
    public void AModelBugEarlyInALongFileIsReportedAfterTheWholeFileIsChecked(bool malformedAtEnd)
    {
        var sb = new System.Text.StringBuilder("openat(AT_FDCWD, \"/dev/mapwright/unlocker\", O_RDWR)\nmmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0)\n");
        for (int i = 0; i < 200_000; i++)
        {
            sb.Append("munmap(0x1000, 4096) = 0\n");
        }

        if (malformedAtEnd)
        {
            sb.Append("munmap(0x1000\n");
        }

        var (exit, output, err) = Run(sb.ToString());
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
        Assert.Single(err.Trim().Split('\n'));
        if (malformedAtEnd)
        {
            Assert.Equal(2, exit);
            Assert.Equal(string.Empty, output);
            Assert.Equal("t.trace:200003: unbalanced parenthesis\n", err.ReplaceLineEndings("\n"));
        }
        else
        {
            Assert.Equal(3, exit);
            Assert.StartsWith("mapwright: BUG: /dev/mapwright/unlocker", err, StringComparison.Ordinal);
        }
    }

    [Fact]
    [Trait("Rule", "trace-format.md: a known call with the wrong number of arguments is an error")]
    public void WrongArgumentCountIsAnError()
    {
        var (exit, _, err) = Run("munmap(0x1000)\n");
        Assert.Equal(2, exit);
        Assert.StartsWith("t.trace:1: ", err, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: in check mode every mismatch is reported with its line, expected and produced result")]
    public void CheckModeReportsDivergencesAndExitsOne()
    {
        var options = s_options with { Check = true };
        var (exit, output, _) = Run(
            "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000\n"
            + "munmap(0x1001, 4096) = 0\n"
            + "brk(NULL) = ?\n",
            options);
        Assert.Equal(1, exit);
        Assert.Contains("# diverged t.trace:2: expected 0, produced -1 EINVAL (Invalid argument)", output, StringComparison.Ordinal);
        Assert.Contains("calls: 3 executed, 1 matched, 1 diverged, 0 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: calls outside the memory/file set are skipped and counted")]
    public void UnknownCallsAreSkippedAndCounted()
    {
        var (exit, output, _) = Run("read(3, \"abc\", 3) = 3\nfstat(3, {st_mode=S_IFREG|0644, st_size=1, ...}) = 0\n+++ exited with 0 +++\n");
        Assert.Equal(0, exit);
        Assert.Contains("calls: 0 executed, 0 matched, 0 diverged, 2 skipped", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "hook-lifecycle.md failure points: failpoint(\"NAME\", N) arms a point; unknown names are an error")]
    public void FailPointsAreArmedFromTracesAndUnknownNamesRejected()
    {
        var (exit, output, _) = Run("failpoint(\"vma_alloc\", 1)\nmmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\nmmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n");
        Assert.Equal(0, exit);
        Assert.Contains("= -1 ENOMEM (Cannot allocate memory)\nmmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7ffe000", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        var (badExit, _, err) = Run("failpoint(\"no_such_point\", 1)\n");
        Assert.Equal(2, badExit);
        Assert.Contains("t.trace:1: unknown failure point 'no_such_point'", err, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: --initial-maps lines become mappings and keep their names")]
    public void InitialMapsAreLoadedAndPrintedBackIdentically()
    {
        const string maps =
            "00400000-00401000 r--p 00000000 fe:00 11657516                           /tmp/oracle\n"
            + "00404000-0224d000 rw-p 00000000 00:00 0 \n"
            + "7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0                          [vvar]\n"
            + "7ffff7ffd000-7ffff7fff000 r-xp 00000000 00:00 0                          [vdso]\n"
            + "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
            + "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n";
        var options = s_options with { InitialMapsText = maps, BrkStart = 0x224d000 };
        var (exit, output, _) = Run("maps()\nmmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n", options);
        Assert.Equal(0, exit);
        Assert.StartsWith("maps()\n" + maps, output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        // The highest free gap below mmap_base is the two pages between [vvar] and [vdso].
        Assert.Contains("= 0x7ffff7ffc000", output, StringComparison.Ordinal);
    }

    [Theory]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary(): start_brk = brk = page-aligned end of the executable's bss (randomisation off); a [heap] line gives the break itself; --brk-start overrides")]
    // The bss spills past the last file page: an anonymous VMA right after the file's segments.
    [InlineData("00400000-00401000 r--p 00000000 fe:00 7 /tmp/exe\n00401000-00402000 r-xp 00001000 fe:00 7 /tmp/exe\n00402000-00403000 rw-p 00002000 fe:00 7 /tmp/exe\n00403000-00405000 rw-p 00000000 00:00 0 \n7ffff7fc3000-7ffff7fc4000 r--p 00000000 fe:00 9 /usr/lib/ld.so\n", null, "0x405000")]
    // The bss fits in the last file page: the break is the end of the last segment.
    [InlineData("555555554000-555555556000 r--p 00000000 fe:00 7 /tmp/pie\n555555556000-555555558000 rw-p 00002000 fe:00 7 /tmp/pie\n7ffff7fc3000-7ffff7fc4000 r--p 00000000 fe:00 9 /usr/lib/ld.so\n", null, "0x555555558000")]
    // An anonymous VMA after a gap is not the bss.
    [InlineData("00400000-00401000 r--p 00000000 fe:00 7 /tmp/exe\n00402000-00403000 rw-p 00000000 00:00 0 \n", null, "0x401000")]
    // A [heap] line: the break is its end.
    [InlineData("00400000-00401000 r--p 00000000 fe:00 7 /tmp/exe\n00401000-00421000 rw-p 00000000 00:00 0 [heap]\n", null, "0x421000")]
    // --brk-start wins over both.
    [InlineData("00400000-00401000 r--p 00000000 fe:00 7 /tmp/exe\n00401000-00421000 rw-p 00000000 00:00 0 [heap]\n", 0x800000UL, "0x800000")]
    public void TheProgramBreakFollowsFromTheInitialMaps(string maps, ulong? brkStart, string expected)
    {
        var options = s_options with { InitialMapsText = maps, BrkStart = brkStart };
        var (exit, output, err) = Run("brk(NULL)\n", options);
        Assert.True(exit == 0, err);
        Assert.Contains("brk(NULL) = " + expected + "\n", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: a malformed initial maps file is FILE:LINE: message and exit 2")]
    public void MalformedInitialMapsAreRejected()
    {
        var options = s_options with { InitialMapsText = "00400000-00401000 r--p 00000000 fe:00\nnonsense\n", InitialMapsName = "m.txt" };
        var (exit, _, err) = Run("maps()\n", options);
        Assert.Equal(2, exit);
        Assert.Contains("m.txt:1: ", err, StringComparison.Ordinal);
        Assert.Contains("m.txt:2: ", err, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "README: the demo runs the embedded scenario and ends with the summary line")]
    public void DemoRunsAndShowsPlacementMergeAndErrors()
    {
        using var stdout = new MemoryStream();
        using var stderr = new StringWriter();
        int exit = RunCommand.Demo(stdout, stderr);
        string output = System.Text.Encoding.UTF8.GetString(stdout.ToArray());
        Assert.Equal(0, exit);
        Assert.Equal(string.Empty, stderr.ToString());
        Assert.Contains("= 0x7ffff7c00000", output, StringComparison.Ordinal);
        Assert.Contains("= -1 EEXIST (File exists)", output, StringComparison.Ordinal);
        Assert.Contains("munmap(0x7ffff7ffb000, 4096) = -1 EPERM (Operation not permitted)", output, StringComparison.Ordinal);
        Assert.Contains("# hook mmap_abort file=/dev/mapwright/pseudolock", output, StringComparison.Ordinal);
        Assert.Contains("# leaks: none", output, StringComparison.Ordinal);
        Assert.Matches(@"calls: \d+ executed, 0 matched, 0 diverged, 0 skipped", output);
    }

    [Fact]
    [Trait("Rule", "issue 3: --hook-trace prints one line per hook call and ends with the leak report")]
    public void HookTracePrintsEveryHookCallWithLocksAndTheLeakReport()
    {
        var options = s_options with { HookTrace = true };
        var (exit, output, _) = Run(
            "openat(AT_FDCWD, \"/dev/mapwright/ring\", O_RDWR) = 3\n"
            + "mmap(NULL, 65536, PROT_READ, MAP_SHARED, 3, 0)\n",
            options);
        Assert.Equal(0, exit);
        Assert.Equal(
            "openat(AT_FDCWD, \"/dev/mapwright/ring\", O_RDWR) = 3\n"
            + "# hook mmap_prepare file=/dev/mapwright/ring start=0x7ffff7fef000 end=0x7ffff7fff000 locks=mmap:write -> 0\n"
            + "# hook mmap_complete file=/dev/mapwright/ring start=0x7ffff7fef000 end=0x7ffff7fff000 locks=mmap:write,vma:write -> 0\n"
            + "mmap(NULL, 65536, PROT_READ, MAP_SHARED, 3, 0) = 0x7ffff7fef000\n"
            + "# leaks: none\n"
            + "calls: 2 executed, 0 matched, 0 diverged, 0 skipped\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    [Trait("Rule", "issue 3: a hook that releases the mmap lock is the model's BUG, named, without a .NET stack trace")]
    public void UnlockerIsReportedAsABugWithoutAStackTrace()
    {
        var (exit, _, err) = Run("openat(AT_FDCWD, \"/dev/mapwright/unlocker\", O_RDWR)\nmmap(NULL, 4096, PROT_READ, MAP_SHARED, 3, 0)\n");
        Assert.Equal(3, exit);
        Assert.StartsWith("mapwright: BUG: /dev/mapwright/unlocker: mmap_complete released the mmap lock", err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", err, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "issue 3: a lock kept by a driver after the run is reported as a leak")]
    public void AMutexKeptByTheDriverIsReportedAsALeak()
    {
        // Two prepares while the first mapping's mutex is held: the second answers EBUSY and nothing leaks;
        // a leak needs a prepare whose complete/abort never ran, which the contract forbids, so check the
        // report line format through the device directly.
        var engine = ReplayEngine.Create(s_options with { HookTrace = true }, [])!;
        Assert.Equal(Mapwright.Abi.Errno.None, engine.Devices.PseudolockMutex.Lock());
        Assert.Equal(["/dev/mapwright/pseudolock mutex still held"], engine.Finish().Leaks);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: fork() = PID creates process PID; lines prefixed with it run in the child")]
    public void ForkedChildLinesRunInTheChild()
    {
        var (exit, output, _) = Run(
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
            + "poke(0x7ffff7ffe000, 1, 1)\n"
            + "fork() = 2\n"
            + "2 munmap(0x7ffff7ffe000, 4096)\n"
            + "2 maps()\n"
            + "peek(0x7ffff7ffe000, 1)\n"
            + "2 exit_group(0) = ?\n"
            + "2 peek(0x7ffff7ffe000, 1)\n");
        string text = output.ReplaceLineEndings("\n");
        Assert.Equal(0, exit);
        Assert.Contains("fork() = 2\n2 munmap(0x7ffff7ffe000, 4096) = 0\n", text, StringComparison.Ordinal);
        // The child unmapped its copy (its maps() is empty); the parent still reads its byte.
        Assert.Contains("2 maps()\npeek(0x7ffff7ffe000, 1) = 0xaf63bc4c8601b62c\n2 exit_group(0) = ?\n", text, StringComparison.Ordinal);
        Assert.Contains("# skipped t.trace:8: pid 2 is not a live process of this trace", text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: smaps() and status() print /proc/PID/smaps and the Vm lines of /proc/PID/status")]
    public void SmapsAndStatusPseudoCalls()
    {
        var (_, output, _) = Run("mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\npoke(0x7ffff7ffe000, 1, 1)\nsmaps()\nstatus()\n");
        string text = output.ReplaceLineEndings("\n");
        Assert.Contains("smaps()\n7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 \nSize:                  4 kB\n", text, StringComparison.Ordinal);
        Assert.Contains("Private_Dirty:         4 kB\n", text, StringComparison.Ordinal);
        Assert.Contains("status()\nVmPeak:\t       4 kB\n", text, StringComparison.Ordinal);
        Assert.Contains("RssAnon:\t       4 kB\n", text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: clone with CLONE_VM (a thread) and vfork share the caller's address space")]
    public void ThreadsShareTheAddressSpace()
    {
        var (_, output, _) = Run(
            "clone(child_stack=0x7f0000000000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM) = 5\n"
            + "5 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)\n"
            + "maps()\n");
        Assert.Contains("maps()\n7ffff7ffe000-7ffff7fff000 r--p", output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }
}
