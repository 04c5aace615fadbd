using System.Globalization;
using System.Text;
using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Mm.Exec;
using Mapwright.Syscalls;
using Xunit;
using Xunit.Abstractions;

namespace Mapwright.Tests.Differential;

/// <summary>
/// execve's failures on the model against the host kernel: the same errno for every case, and a failed execve
/// leaves the caller's address space as it was. Skipped where gcc or Linux x86-64 is missing.
/// </summary>
public sealed class ExecErrorTests
{
    private const string Interp = "/lib64/ld-linux-x86-64.so.2";

    private readonly ITestOutputHelper _output;

    public ExecErrorTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [SkippableFact]
    [Trait("Linux", "fs/exec.c do_open_execat(), bprm_stack_limits(), copy_strings(); fs/binfmt_elf.c load_elf_binary(): ENOENT, ENOTDIR, EACCES, E2BIG, ENOEXEC, ELIBBAD as the kernel returns them, in its order")]
    public void ExecErrorsAreTheKernels()
    {
        Skip.If(ExecOracle.Binary is null || !OperatingSystem.IsLinux(), ExecOracle.SkipReason);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        byte[] trueElf = File.ReadAllBytes("/usr/bin/true");
        Skip.IfNot(IndexOf(trueElf, Encoding.ASCII.GetBytes(Interp)) >= 0, "/usr/bin/true has another interpreter");

        // A folder whose path has the interpreter's length, so that a patched PT_INTERP can point into it.
        string dir = "/tmp/mw-interp-" + Environment.ProcessId.ToString("D10", CultureInfo.InvariantCulture)[..10] + "/";
        Directory.CreateDirectory(dir);
        Assert.Equal(Interp.Length, (dir + "x").Length);
        string Write(string name, byte[] bytes, UnixFileMode mode)
        {
            string path = dir + name;
            File.WriteAllBytes(path, bytes);
            File.SetUnixFileMode(path, mode);
            return path;
        }

        const UnixFileMode exec = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        const UnixFileMode noExec = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        string textInterp = Write("t", Encoding.ASCII.GetBytes("not an ELF file\n"), exec);
        string noExecInterp = Write("n", trueElf, noExec);
        byte[] badMachine = (byte[])trueElf.Clone();
        badMachine[18] = 183;
        byte[] badPhent = (byte[])trueElf.Clone();
        badPhent[54] = 32;
        var env = new List<string> { "A=B" };
        string big = new('x', 140 * 1024);
        var hugeEnv = new List<string>();
        for (int i = 0; i < 17; i++)
        {
            hugeEnv.Add("V" + i + "=" + new string('y', 125 * 1024));
        }

        var cases = new List<(string What, ExecRequest Request)>
        {
            ("missing file", Req("/nonexistent/prog", env)),
            ("a file as a folder", Req("/usr/bin/true/", env)),
            ("a folder", Req("/usr/bin", env)),
            ("a character device", Req("/dev/null", env)),
            ("no execute permission", Req(Write("noexec", trueElf, noExec), env)),
            ("a text file", Req(Write("text", Encoding.ASCII.GetBytes("echo hello\n"), exec), env)),
            ("an empty file", Req(Write("empty", [], exec), env)),
            ("a truncated ELF header", Req(Write("trunc", trueElf[..40], exec), env)),
            ("ELF cut before its program headers", Req(Write("cut", trueElf[..100], exec), env)),
            ("another machine", Req(Write("arm", badMachine, exec), env)),
            ("a bad program header size", Req(Write("phent", badPhent, exec), env)),
            ("a missing interpreter", Req(Write("nointerp", WithInterp(trueElf, "/lib64/ld-linux-x86-64.so.9"), exec), env)),
            ("an interpreter that is no ELF", Req(Write("textinterp", WithInterp(trueElf, textInterp), exec), env)),
            ("an interpreter without execute permission", Req(Write("noexecinterp", WithInterp(trueElf, noExecInterp), exec), env)),
            ("one string over MAX_ARG_STRLEN", Req("/usr/bin/true", env, big)),
            ("strings over a quarter of the stack limit", Req("/usr/bin/true", hugeEnv)),
            ("E2BIG on a missing file", Req("/nonexistent/prog", hugeEnv)),
            ("strings just under the limit", Req("/usr/bin/true", hugeEnv[..16])),
            ("a script", Req(Write("s1", Encoding.ASCII.GetBytes("#!/bin/sh\necho\n"), exec), env)),
            ("a script with an argument and blanks", Req(Write("s2", Encoding.ASCII.GetBytes("#! \t/usr/bin/env  -i  x \t\nrest\n"), exec), env)),
            ("a script without a newline", Req(Write("s3", Encoding.ASCII.GetBytes("#!/bin/sh"), exec), env)),
            ("a script of a script", Req(Write("s4", Encoding.ASCII.GetBytes($"#!{dir}s1\n"), exec), env)),
            ("a script with a missing interpreter", Req(Write("s5", Encoding.ASCII.GetBytes("#!/nonexistent/sh\n"), exec), env)),
            ("a script without an interpreter", Req(Write("s6", Encoding.ASCII.GetBytes("#!   \n"), exec), env)),
            ("a script whose interpreter is a text file", Req(Write("s7", Encoding.ASCII.GetBytes($"#!{textInterp}\n"), exec), env)),
            ("a script whose first line fills the buffer", Req(Write("s8", Encoding.ASCII.GetBytes("#!/" + new string('a', 300) + "\n"), exec), env)),
            ("a script running itself", Req(Write("s9", Encoding.ASCII.GetBytes($"#!{dir}s9\n"), exec), env)),
            ("a script with an empty argv", ExecRequest.FromStrings(dir + "s1", [], ["A=B"])),
        };
        string? i386 = ExecDifferentialTests.ScanElfExecutables().Find(ExecDifferentialTests.IsElfClass32);
        if (i386 is not null)
        {
            cases.Add(("a 32-bit ELF", Req(i386, env)));
        }

        var requests = cases.ConvertAll(c => c.Request);
        List<(int Errno, string Maps)> kernel = ExecOracle.Run(requests);
        var failures = new List<string>();
        MmConfig config = MmConfig.FromHost();
        for (int i = 0; i < cases.Count; i++)
        {
            (int errno, string maps, _) = ExecDifferentialTests.ModelExec(requests[i], config);
            if (ExecDifferentialTests.IsIa32Divergence(requests[i].Path, kernel[i].Errno, errno))
            {
                // A kernel with IA-32 emulation runs it (or fails later): the documented divergence.
                _output.WriteLine($"{cases[i].What}: kernel {(Errno)kernel[i].Errno}, model ENOEXEC: 32-bit programs are not modelled (docs/divergences.md)");
                continue;
            }

            if (errno != kernel[i].Errno || (errno == 0 && maps != kernel[i].Maps))
            {
                failures.Add($"{cases[i].What}: kernel {(Errno)kernel[i].Errno}, model {(Errno)errno}");
            }
        }

        Directory.Delete(dir, recursive: true);
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [SkippableFact]
    [Trait("Rule", "docs/divergences.md 32-bit programs: a log whose execve of a 32-bit program succeeded (a kernel with IA-32 emulation) diverges with a note naming the divergence, not silently")]
    public void AReplayNamesThe32BitDivergence()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "needs Linux");
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        string? elf32 = ExecDifferentialTests.ScanElfExecutables().Find(ExecDifferentialTests.IsElfClass32);
        Skip.If(elf32 is null, "no 32-bit ELF file on this host");
        string trace = $"execve(\"{elf32}\", [\"prog\"], []) = 0\n";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = Mapwright.Cli.RunCommand.RunText(trace, "t.trace", new Mapwright.Trace.Replay.TraceRunOptions { Check = true }, stdout, stderr);
        string output = stdout.ToString();
        Assert.Equal(Mapwright.Cli.ExitCodes.Diverged, exit);
        Assert.Contains("= -1 ENOEXEC", output, StringComparison.Ordinal);
        Assert.Contains("# note t.trace:1: execve: a 32-bit program (i386 or x32)", output, StringComparison.Ordinal);

        // A 64-bit program refused as ENOEXEC (a text file with the execute bit) gets no such note.
        string text = Path.GetTempFileName();
        try
        {
            File.WriteAllText(text, "not a program\n");
            File.SetUnixFileMode(text, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var stdout2 = new StringWriter();
            Mapwright.Cli.RunCommand.RunText($"execve(\"{text}\", [\"prog\"], []) = 0\n", "t.trace", new Mapwright.Trace.Replay.TraceRunOptions { Check = true }, stdout2, stderr);
            Assert.Contains("= -1 ENOEXEC", stdout2.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("32-bit", stdout2.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(text);
        }
    }

    [Fact]
    [Trait("Linux", "fs/exec.c: an execve failing before the point of no return leaves the caller's address space and descriptors as they were")]
    public void FailedExecLeavesTheAddressSpaceUnchanged()
    {
        var sys = new Machine().NewProcess(new MmConfig());
        Assert.False(sys.Mmap(0, 8192, 3, 0x22, ulong.MaxValue, 0).IsError);
        string before = sys.Mm.FormatMaps();
        AddressSpace mm = sys.Mm;
        SysResult r = sys.Execve(ExecRequest.FromStrings("/nonexistent/prog", ["prog"], []), ExecEnvironment.FromHost());
        Assert.True(r.IsError);
        Assert.Equal(Errno.ENOENT, r.Errno);
        Assert.Same(mm, sys.Mm);
        Assert.Equal(before, sys.Mm.FormatMaps());
        sys.Exit();
    }

    private static ExecRequest Req(string path, List<string> env, string? arg = null) =>
        ExecRequest.FromStrings(path, arg is null ? ["prog"] : ["prog", arg], env);

    /// <summary>The ELF with its PT_INTERP string replaced by one of the same length.</summary>
    private static byte[] WithInterp(byte[] elf, string interp)
    {
        byte[] copy = (byte[])elf.Clone();
        byte[] old = Encoding.ASCII.GetBytes(Interp);
        byte[] replacement = Encoding.ASCII.GetBytes(interp);
        Assert.Equal(old.Length, replacement.Length);
        replacement.CopyTo(copy, IndexOf(copy, old));
        return copy;
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
