using Mapwright.Mm.Exec;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;
using Mapwright.Trace.Replay;

namespace Mapwright.Trace.Calls;

/// <summary>
/// execve and execveat lines: the strings the log shows (or what the replay assumes where it does not show them,
/// said in a note), run by <see cref="MmSyscalls.Execve"/> through the engine (which knows the process table).
/// </summary>
internal static class ExecveExecutor
{
    private const ulong AtFdcwd = unchecked((ulong)-100);
    private const ulong AtEmptyPath = 0x1000;

    /// <summary><c>execve(path, argv, envp)</c>.</summary>
    public static void Execve(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome) =>
        Run(engine, sys, call, outcome, call.ArgString(0), null, 1);

    /// <summary><c>execveat(dirfd, path, argv, envp, flags)</c>: AT_FDCWD or an absolute path as execve; a path
    /// relative to a directory the model opened, or AT_EMPTY_PATH on a file it opened, runs that file under the
    /// kernel's name for it (<c>/dev/fd/N/NAME</c>, <c>/dev/fd/N</c>). Linux: fs/exec.c alloc_bprm().</summary>
    public static void Execveat(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome)
    {
        string path = call.ArgString(1);
        ReadOnlySpan<char> dirText = call.ArgText(0).Trim();
        ulong dirfd = dirText.SequenceEqual("AT_FDCWD") ? AtFdcwd
            : IntegerLiteral.Parse(dirText, out ulong d) == IntegerStatus.Ok ? d : AtFdcwd;
        ReadOnlySpan<char> flagText = call.ArgCount > 4 ? call.ArgText(4) : "0";
        bool emptyPath = flagText.Contains("AT_EMPTY_PATH", StringComparison.Ordinal)
            || (IntegerLiteral.Parse(flagText.Trim(), out ulong f) == IntegerStatus.Ok && (f & AtEmptyPath) != 0);
        string? filename = null;
        string fd = dirfd.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (path.Length == 0 && emptyPath)
        {
            if (sys.Files.Get(dirfd) is not { } file)
            {
                outcome.SetResult(Abi.SysResult.Fail(Abi.Errno.EBADF));
                return;
            }

            filename = "/dev/fd/" + fd;
            path = file.Path;
        }
        else if (!path.StartsWith('/') && dirfd != AtFdcwd)
        {
            if (sys.Files.Get(dirfd) is not { } dir)
            {
                outcome.SetResult(Abi.SysResult.Fail(Abi.Errno.EBADF));
                return;
            }

            filename = "/dev/fd/" + fd + "/" + path;
            path = dir.Path.TrimEnd('/') + "/" + path;
        }

        Run(engine, sys, call, outcome, path, filename, 2);
    }

    private static void Run(ReplayEngine engine, MmSyscalls sys, CallLine call, Outcome outcome, string path, string? filename, int argvIndex)
    {
        ExecveArgs argv = call.ArgCount > argvIndex ? ExecveArgs.Parse(call.ArgText(argvIndex)) : ExecveArgs.Parse("NULL");
        ExecveArgs envp = call.ArgCount > argvIndex + 1 ? ExecveArgs.Parse(call.ArgText(argvIndex + 1)) : ExecveArgs.Parse("NULL");
        List<byte[]> args = argv.Strings ?? [System.Text.Encoding.UTF8.GetBytes(path)];
        if (argv.Strings is null)
        {
            outcome._notes.Add("execve: the log shows no argument strings; assumed argv = [path]");
        }

        if (argv.Truncated || envp.Truncated)
        {
            outcome._notes.Add("execve: strace cut some strings or arrays (-s, or more than 32 elements): the stack is sized from what the log shows (capture with strace -v -s 65536 for exact sizes)");
        }

        List<byte[]> env;
        if (envp.Strings is { } shown)
        {
            env = shown;
            AdoptWorkingDirectory(sys, shown, outcome);
        }
        else
        {
            IReadOnlyList<byte[]> assumed = engine.Options.ExecEnvironment ?? HostEnvironment.Strings;
            env = [.. assumed];
            string source = engine.Options.ExecEnvironment is null ? "mapwright's own environment" : "the --env-file environment";
            string count = envp.Count is int n ? $"the log counts {n} variables" : "the log shows none";
            outcome._notes.Add($"execve: environment not in the log (strace without -v; {count}): assumed {source}, {env.Count} variables, {Sum(env)} bytes");

            // Its PWD too: a log is most often replayed where it was taken.
            AdoptWorkingDirectory(sys, env, outcome);
        }

        outcome.SetResult(engine.Execve(sys, call, new ExecRequest(path, args, env) { Filename = filename }, outcome));
    }

    /// <summary>The traced process's working directory is not in the log; the first environment it shows (or the one
    /// assumed for it: mapwright's own, or --env-file's) has the shell's <c>PWD</c>, which relative paths then start
    /// from (until a chdir says otherwise).</summary>
    private static void AdoptWorkingDirectory(MmSyscalls sys, List<byte[]> env, Outcome outcome)
    {
        if (sys.CwdKnown)
        {
            return;
        }

        foreach (byte[] entry in env)
        {
            if (entry.AsSpan().StartsWith("PWD=/"u8))
            {
                string pwd = System.Text.Encoding.UTF8.GetString(entry, 4, entry.Length - 4);
                if (sys.Chdir(pwd).IsError)
                {
                    outcome._notes.Add($"execve: PWD={pwd} is not a directory here: relative paths start from {sys.Cwd}");
                }

                return;
            }
        }
    }

    private static long Sum(List<byte[]> strings)
    {
        long n = 0;
        foreach (byte[] s in strings)
        {
            n += s.Length + 1;
        }

        return n;
    }
}
