using System.Globalization;
using Mapwright.Cli;
using Mapwright.Mm;
using Mapwright.Mm.Exec;
using Mapwright.Tests.Differential;
using Mapwright.Trace.Replay;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>
/// <c>--follow-addresses</c>: an address the log shows the kernel chose is taken when Linux could have chosen it
/// with some random layout, and is a divergence with the reason when it could not (docs/cli.md). The differential
/// test against the host kernel is Differential/FollowAddressesReplayTests.
/// </summary>
public sealed class FollowAddressesTests
{
    private const string Anon = "PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0";

    /// <summary>A non-PIE executable whose bss ends at 0x404000, and the stack, as execve leaves them.</summary>
    private const string ExecMaps =
        "00400000-00402000 r--p 00000000 08:01 1234 /usr/bin/true\n"
        + "00402000-00404000 rw-p 00000000 00:00 0 \n"
        + "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n";

    private static readonly TraceRunOptions s_options = new() { Check = true, FollowAddresses = true, Config = new MmConfig() };

    private static (int Exit, string Out) Run(string trace, TraceRunOptions? options = null, RunRequest? request = null)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = RunCommand.RunText(trace, "t.trace", options ?? s_options, stdout, stderr, request);
        Assert.Equal(string.Empty, stderr.ToString());
        return (exit, stdout.ToString().ReplaceLineEndings("\n"));
    }

    [Fact]
    [Trait("Linux", "mm/mmap.c __get_unmapped_area(): with a random mmap_base any free, aligned range below it can be the answer; the rest of do_mmap (merge) runs as usual")]
    public void AFreeLoggedAddressIsWhereTheMappingGoesAndItMergesAsUsual()
    {
        var (exit, output) = Run(
            $"mmap(NULL, 8192, {Anon}) = 0x7f0000000000\n"
            + $"mmap(NULL, 8192, {Anon}) = 0x7f0000002000\n"
            + "maps()\n");
        Assert.Equal(0, exit);
        Assert.Contains("maps()\n7f0000000000-7f0000004000 rw-p 00000000 00:00 0 \ncalls: 2 executed, 2 matched, 0 diverged", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): the kernel only places a mapping in a free gap")]
    public void AnAddressOverlappingAModelVmaIsADivergenceWithTheReasonAndTheModelsOwnAnswer()
    {
        var (exit, output) = Run(
            $"mmap(NULL, 8192, {Anon}) = 0x7f0000000000\n"
            + $"mmap(NULL, 4096, {Anon}) = 0x7f0000001000\n");
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains(
            "= 0x7ffff7ffe000\n# diverged t.trace:2: expected 0x7f0000001000, produced 0x7ffff7ffe000 (not followed: the logged range 0x7f0000001000-0x7f0000002000 overlaps 7f0000000000-7f0000002000 in the model)\n",
            output,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x7f0000000800", "is not page-aligned")]
    [InlineData("0x8000", "is outside [mmap_min_addr 0x10000, TASK_SIZE 0x7ffffffff000)")]
    [InlineData("0x7ffffffff000", "is outside [mmap_min_addr 0x10000, TASK_SIZE 0x7ffffffff000)")]
    [InlineData("0x7ffff8000000", "ends above mmap_base 0x7ffff7fff000, the highest randomisation gives")]
    [Trait("Linux", "mm/mmap.c __get_unmapped_area() (offset_in_page, TASK_SIZE - len), mm/vma.c unmapped_area_topdown() (mmap_min_addr), arch/x86/mm/mmap.c mmap_base() (randomisation only lowers it)")]
    public void AnAddressLinuxCannotChooseIsRefused(string logged, string reason)
    {
        var (exit, output) = Run($"mmap(NULL, 8192, {Anon}) = {logged}\n");
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains($"expected {logged}, produced 0x7ffff7ffd000 (not followed: ", output, StringComparison.Ordinal);
        Assert.Contains(reason, output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "mm/vma.c unmapped_area_topdown(): a gap ends at vm_start_gap(next), stack_guard_gap below a VM_GROWSDOWN stack")]
    public void AnAddressInsideTheStackGuardGapIsRefused()
    {
        TraceRunOptions options = s_options with { InitialMapsText = ExecMaps };
        var (exit, output) = Run($"mmap(NULL, 8192, {Anon}) = 0x7ffcfff00000\n", options);
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains("reaches into the guard gap below 7ffd00000000-7ffd00021000 in the model", output, StringComparison.Ordinal);
        var (ok, _) = Run($"mmap(NULL, 8192, {Anon}) = 0x7ffcffefe000\n", options);
        Assert.Equal(0, ok);
    }

    [Fact]
    [Trait("Linux", "mm/huge_memory.c __thp_get_unmapped_area(): an anonymous mapping of a multiple of 2 MiB is PMD-aligned, randomisation or not")]
    public void A2MiBMultipleAnonymousMappingMustBeThpAligned()
    {
        var (exit, output) = Run($"mmap(NULL, 4194304, {Anon}) = 0x7f0000001000\n");
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains("Linux aligns this mapping to 2 MiB for transparent huge pages: the logged address 0x7f0000001000 is not", output, StringComparison.Ordinal);
        Assert.Equal(0, Run($"mmap(NULL, 4194304, {Anon}) = 0x7f0000200000\n").Exit);

        // Not a multiple of 2 MiB: no alignment.
        Assert.Equal(0, Run($"mmap(NULL, 4198400, {Anon}) = 0x7f0000001000\n").Exit);
    }

    [Fact]
    [Trait("Linux", "arch/x86/kernel/sys_x86_64.c arch_get_unmapped_area_topdown(): a hint whose range is free is returned as it is")]
    public void AFreeHintIsWhereLinuxMapsWhateverTheLogSays()
    {
        var (exit, output) = Run($"mmap(0x100000000, 8192, {Anon}) = 0x7f0000000000\n");
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains("produced 0x100000000 (not followed: the hint 0x100000000 is free in the model", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "mm/mremap.c vrm_set_new_addr(): a move without MREMAP_FIXED asks get_unmapped_area(); vma_expandable(): it grows in place when it can")]
    public void AMremapMoveIsFollowedAndAnInPlaceGrowthIsNot()
    {
        var (exit, output) = Run(
            $"mmap(NULL, 8192, {Anon}) = 0x7f0000000000\n"
            + $"mmap(0x7f0000002000, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x7f0000002000\n"
            + "mremap(0x7f0000000000, 8192, 65536, MREMAP_MAYMOVE) = 0x7f1000000000\n"
            + "maps()\n");
        Assert.Equal(0, exit);
        Assert.Contains("7f1000000000-7f1000010000 rw-p", output, StringComparison.Ordinal);

        var (grown, text) = Run(
            $"mmap(NULL, 8192, {Anon}) = 0x7f0000000000\n"
            + "mremap(0x7f0000000000, 8192, 65536, MREMAP_MAYMOVE) = 0x7f1000000000\n");
        Assert.Equal(ExitCodes.Diverged, grown);
        Assert.Contains("produced 0x7f0000000000 (not followed: Linux grows a mapping in place when the pages after it are free", text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "MAP_FIXED and MREMAP_FIXED addresses are the caller's, not the kernel's: checked as usual")]
    public void FixedPlacementsAreCheckedAsUsual()
    {
        var (exit, output) = Run($"mmap(0x7f0000000000, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0) = 0x7f0000004000\n");
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains("# diverged t.trace:1: expected 0x7f0000004000, produced 0x7f0000000000\n", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary(): with randomisation start_brk = arch_randomize_brk(end of bss + PAGE_SIZE), in [+0, +1 GiB) on x86-64; brk(NULL) returns it")]
    public void TheFirstBrkGivesTheRandomBreakAndLaterOnesAreChecked()
    {
        TraceRunOptions options = s_options with { InitialMapsText = ExecMaps };
        var (exit, output) = Run(
            "brk(NULL) = 0x1234000\n"
            + "brk(0x1255000) = 0x1255000\n"
            + "brk(NULL) = 0x1255000\n"
            + "maps()\n",
            options);
        Assert.Equal(0, exit);
        Assert.Contains("01234000-01255000 rw-p 00000000 00:00 0                                  [heap]\n", output, StringComparison.Ordinal);

        // A second look at the break is not followed: the break is known.
        var (again, text) = Run("brk(NULL) = 0x1234000\nbrk(NULL) = 0x1300000\n", options);
        Assert.Equal(ExitCodes.Diverged, again);
        Assert.Contains("# diverged t.trace:2: expected 0x1300000, produced 0x1234000\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0x300000", "outside the windows execve's randomisation draws from: [0x405000, 0x40405000) after the bss")]
    [InlineData("0x405800", "is not page-aligned")]
    [InlineData("0x40405000", "outside the windows")]
    [InlineData("0x7ffd00010000", "is inside 7ffd00000000-7ffd00021000 in the model")]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary() (a page of gap after the bss), mm/util.c randomize_page() (page-aligned, below start + range)")]
    public void ABreakExecveCannotHaveChosenIsRefused(string logged, string reason)
    {
        var (exit, output) = Run($"brk(NULL) = {logged}\n", s_options with { InitialMapsText = ExecMaps });
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains($"expected {logged}, produced 0x404000 (not followed: ", output, StringComparison.Ordinal);
        Assert.Contains(reason, output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary(): an ET_DYN program without an interpreter has its break moved to ELF_ET_DYN_BASE, then randomised")]
    public void ABreakAboveElfEtDynBaseIsAccepted()
    {
        var (exit, _) = Run("brk(NULL) = 0x555555600000\n", s_options with { InitialMapsText = "7f0000000000-7f0000002000 r--p 00000000 08:01 1234 /usr/lib/ld.so\n" });
        Assert.Equal(0, exit);
    }

    [Fact]
    [Trait("Linux", "kernel/fork.c dup_mm(): the child's mm is a copy, start_brk and brk included; only execve draws a new break")]
    public void AForkedChildKeepsTheBreakItsParentShowed()
    {
        var (exit, output) = Run(
            "1 brk(NULL) = 0x1234000\n"
            + "1 fork() = 2\n"
            + "2 brk(NULL) = 0x1300000\n",
            s_options with { InitialMapsText = ExecMaps });
        Assert.Equal(ExitCodes.Diverged, exit);
        Assert.Contains("# diverged t.trace:3: expected 0x1300000, produced 0x1234000\n", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "docs/cli.md --json: a refused follow's reason is the call's reason")]
    public void JsonCarriesTheRefusal()
    {
        var (_, output) = Run($"mmap(NULL, 8192, {Anon}) = 0x7f0000000800\n", request: new RunRequest { Json = true });
        Assert.Contains("\"verdict\":\"diverged\",\"reason\":\"the logged address 0x7f0000000800 is not page-aligned\"", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Rule", "docs/cli.md --follow-addresses: a refusal is a divergence even without --check")]
    public void ARefusalIsCountedWithoutCheck()
    {
        var (exit, output) = Run($"mmap(NULL, 8192, {Anon}) = 0x7f0000000800\n", s_options with { Check = false });
        Assert.Equal(0, exit);
        Assert.Contains("(not followed: the logged address 0x7f0000000800 is not page-aligned)\ncalls: 1 executed, 0 matched, 1 diverged", output, StringComparison.Ordinal);
    }

    /// <summary>A PIE compiled here (RELRO on, as gcc's default), the start the model's execve gives it, its RELRO
    /// pages there (as ld.so protects them) and the model's start_brk.</summary>
    private static (string Path, ulong Start, ulong RelroStart, ulong RelroLength, ulong StartBrk, string Dir) CompilePie()
    {
        string dir = Directory.CreateTempSubdirectory("mapwright-pie-").FullName;
        string src = Path.Combine(dir, "pie.c"), prog = Path.Combine(dir, "pie");
        File.WriteAllText(src, "int main(void) { return 0; }\n");
        string gcc = RealProgramReplayTests.Run("gcc", ["-O1", "-fpie", "-pie", "-Wl,-z,relro,-z,now", "-o", prog, src]);
        Assert.True(File.Exists(prog), "gcc failed: " + gcc);

        var (_, output) = Run($"execve(\"{prog}\", [\"pie\"], []) = 0\nmaps()\n", s_options with { Check = false });
        string first = output.Split('\n').First(l => l.EndsWith(prog, StringComparison.Ordinal));
        ulong start = ulong.Parse(first[..first.IndexOf('-', StringComparison.Ordinal)], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        string heap = output.Split('\n').Last(l => l.EndsWith(prog, StringComparison.Ordinal));
        ulong end = ulong.Parse(heap[(heap.IndexOf('-', StringComparison.Ordinal) + 1)..heap.IndexOf(' ', StringComparison.Ordinal)], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

        byte[] bytes = File.ReadAllBytes(prog);
        ElfHeader hdr = ElfHeader.Parse(bytes);
        ElfProgramHeader[] phdrs = ElfProgramHeader.ParseAll(bytes.AsSpan((int)hdr.PhOff), hdr.PhNum);
        ElfProgramHeader relro = phdrs.Single(p => p.Type == ElfProgramHeader.PtGnuRelro);
        ulong relroStart = (start + relro.Vaddr) & ~0xfffUL, relroEnd = (start + relro.Vaddr + relro.MemSize) & ~0xfffUL;
        Assert.True(relroEnd > relroStart, "gcc's PIE has no whole RELRO page");
        ulong bssEnd = phdrs.Where(p => p.Type == ElfProgramHeader.PtLoad).Max(p => start + p.Vaddr + p.MemSize);
        ulong startBrk = (bssEnd + 0xfff) & ~0xfffUL;
        Assert.True(end <= startBrk, $"the model's last mapping of the program ends at 0x{end:x}, after its bss 0x{startBrk:x}");
        return (prog, start, relroStart, relroEnd - relroStart, startBrk, dir);
    }

    [SkippableFact]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_binary(): a PIE's load bias is ELF_ET_DYN_BASE plus arch_mmap_rnd() (up to 2^32 pages, vm.mmap_rnd_bits at its maximum), its break up to 1 GiB after its bss; glibc _dl_protect_relro() then mprotects its RELRO pages, the first call that shows where it is")]
    public void ARandomlyPlacedPieMovesWhereLdSoProtectsItsRelroPages()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RealProgramReplayTests.Exists("gcc"), "needs Linux and gcc");
        var (prog, start, relroStart, relroLength, startBrk, dir) = CompilePie();
        try
        {
            const ulong Delta = 0x2a7b3c000;
            ulong brk = startBrk + Delta + 0x1000 + 0x3f5000;
            string head = $"execve(\"{prog}\", [\"pie\"], []) = 0\nbrk(NULL) = 0x{brk:x}\n";
            var (exit, output) = Run(head + $"mprotect(0x{relroStart + Delta:x}, {relroLength}, PROT_READ) = 0\nbrk(0x{brk + 0x21000:x}) = 0x{brk + 0x21000:x}\nmaps()\n");
            Assert.True(exit == 0, output);
            string[] programLines = output.Split('\n').Where(l => l.EndsWith(prog, StringComparison.Ordinal)).ToArray();
            Assert.StartsWith($"{start + Delta:x}-", programLines[0], StringComparison.Ordinal);
            Assert.All(programLines, l => Assert.True(ulong.Parse(l[..l.IndexOf('-', StringComparison.Ordinal)], NumberStyles.HexNumber, CultureInfo.InvariantCulture) >= start + Delta, l));
            Assert.Contains($"{brk:x}-{brk + 0x21000:x} rw-p 00000000 00:00 0", output, StringComparison.Ordinal);

            // Not a place Linux can load it: 2^32 pages or more above ELF_ET_DYN_BASE.
            const ulong TooFar = 1UL << 45;
            var (far, farOutput) = Run(head.Replace($"0x{brk:x}", $"0x{startBrk + 0x1000:x}", StringComparison.Ordinal) + $"mprotect(0x{relroStart + TooFar:x}, {relroLength}, PROT_READ) = 0\n");
            Assert.Equal(ExitCodes.Diverged, far);
            Assert.Contains("Linux adds a multiple of its alignment 0x1000 below 0x100000001000", farOutput, StringComparison.Ordinal);

            // A place whose bss ends more than 1 GiB before the break the log showed.
            var (gap, gapOutput) = Run(head.Replace($"0x{brk:x}", $"0x{brk + (2UL << 30):x}", StringComparison.Ordinal) + $"mprotect(0x{relroStart + Delta:x}, {relroLength}, PROT_READ) = 0\n");
            Assert.Equal(ExitCodes.Diverged, gap);
            Assert.Contains($"the break 0x{brk + (2UL << 30):x} is not in [0x{startBrk + Delta + 0x1000:x}, ", gapOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [SkippableFact]
    [Trait("Linux", "fs/binfmt_elf.c load_elf_interp(): ld.so is execve's first top-down mapping, so it ends at the random mmap_base, at most 2^32 pages plus the stack's random gap below the highest (arch/x86/mm/mmap.c mmap_base()); glibc _dl_protect_relro() shows where with its RELRO mprotect")]
    public void TheInterpreterMovesOnlyWhereARandomMmapBaseCanEndIt()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && RealProgramReplayTests.Exists("gcc"), "needs Linux and gcc");
        var (prog, _, _, _, _, dir) = CompilePie();
        try
        {
            string head = $"execve(\"{prog}\", [\"pie\"], []) = 0\n";
            var (_, before) = Run(head + "maps()\n", s_options with { Check = false });
            string[] interpLines = before.Split('\n').Where(l => l.Contains("/ld-linux-x86-64.so.2", StringComparison.Ordinal)).ToArray();
            Skip.If(interpLines.Length == 0, "the PIE has no ld-linux-x86-64.so.2 interpreter here");
            string interpPath = interpLines[0][interpLines[0].IndexOf('/', StringComparison.Ordinal)..];
            ulong start = ulong.Parse(interpLines[0][..interpLines[0].IndexOf('-', StringComparison.Ordinal)], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

            byte[] bytes = File.ReadAllBytes(interpPath);
            ElfHeader hdr = ElfHeader.Parse(bytes);
            ElfProgramHeader relro = ElfProgramHeader.ParseAll(bytes.AsSpan((int)hdr.PhOff), hdr.PhNum).Single(p => p.Type == ElfProgramHeader.PtGnuRelro);
            ulong relroStart = (start + relro.Vaddr) & ~0xfffUL, relroLength = ((start + relro.Vaddr + relro.MemSize) & ~0xfffUL) - relroStart;

            // 0x5a3e000000 lower: inside the range a random mmap_base covers.
            const ulong Down = 0x5a3e000000;
            var (exit, output) = Run(head + $"mprotect(0x{relroStart - Down:x}, {relroLength}, PROT_READ) = 0\nmaps()\n");
            Assert.True(exit == 0, output);
            string[] moved = output.Split('\n').Where(l => l.EndsWith(interpPath, StringComparison.Ordinal)).ToArray();
            Assert.StartsWith($"{start - Down:x}-", moved[0], StringComparison.Ordinal);

            // Every VMA of it moved (the mprotect may then split the writable one): none is left where the model put it.
            Assert.All(moved, l => Assert.True(ulong.Parse(l[..l.IndexOf('-', StringComparison.Ordinal)], NumberStyles.HexNumber, CultureInfo.InvariantCulture) < start, l));

            // 2^45 lower: no random mmap_base ends there.
            const ulong TooLow = 1UL << 45;
            var (low, lowOutput) = Run(head + $"mprotect(0x{relroStart - TooLow:x}, {relroLength}, PROT_READ) = 0\n");
            Assert.Equal(ExitCodes.Diverged, low);
            Assert.Contains("lower than randomisation puts mmap_base", lowOutput, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
