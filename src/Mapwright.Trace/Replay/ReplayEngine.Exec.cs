using Mapwright.Abi;
using Mapwright.Mm.Exec;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;

namespace Mapwright.Trace.Replay;

/// <summary>execve in the process table.</summary>
public sealed partial class ReplayEngine
{
    /// <summary>The main process's first execve has been seen (the one the initial state stands for).</summary>
    private bool _mainExecSeen;

    /// <summary>
    /// Runs an execve of <paramref name="sys"/>. With initial maps given, the main process's first successful
    /// execve is the one they describe: it is taken as done. A process sharing its address space with another
    /// PID (a vfork child, a thread) gets one of its own; the others keep theirs. <c>--brk-start</c> overrides
    /// the break the main process's first execve computes, <c>--mmap-base</c> the mmap base of every execve.
    /// Linux: fs/exec.c do_execveat_common(), exec_mmap().
    /// </summary>
    internal SysResult Execve(MmSyscalls sys, CallLine call, ExecRequest request, Outcome outcome)
    {
        bool firstOfMain = ReferenceEquals(sys, Main) && !_mainExecSeen;
        bool tracedSuccess = !call.HasResult || (call.ResultKind == TraceResultKind.Value && call.ResultValue == 0);
        if (firstOfMain && _options.InitialMapsText is not null && tracedSuccess)
        {
            _mainExecSeen = true;
            outcome._notes.Add("execve: the initial maps given are the address space this execve built; it is not rebuilt");
            return SysResult.Ok(0);
        }

        MmSyscalls target = sys;
        int? pid = call.Pid;
        if (pid is int p && SharesAddressSpace(sys, p))
        {
            target = sys.BorrowForExec();
        }

        SysResult result = target.Execve(request, new ExecEnvironment(HostExecEnvironment.Host, _options.MmapBase));
        if (result.IsError && result.Errno == Errno.ENOEXEC && tracedSuccess && call.HasResult && IsElfClass32(request.Path))
        {
            outcome._notes.Add("execve: a 32-bit program (i386 or x32): the kernel that ran it has IA-32 emulation, which the model does not model; it answers ENOEXEC as a kernel without it does (docs/divergences.md)");
        }

        if (result.IsError && target.LastExec is null)
        {
            if (!ReferenceEquals(target, sys))
            {
                target.Exit();
            }

            return result;
        }

        if (!ReferenceEquals(target, sys))
        {
            _processes[pid!.Value] = target;
        }

        if (pid is int execPid)
        {
            // The other threads of the group are gone; an address space only they used goes with them.
            EndOtherThreads(execPid);
            if (!ReferenceEquals(target, sys) && !_processes.ContainsValue(sys) && !ReferenceEquals(sys, Main))
            {
                sys.Exit();
            }
        }

        if (firstOfMain)
        {
            _mainExecSeen = true;
            if (_options.BrkStart is { } brk)
            {
                using (target.Mm.MmapLock.Read())
                {
                    target.Mm.PrctlSetMmBrk(brk, brk);
                }
            }
        }

        if (target.LastExec?.Randomized == true)
        {
            outcome._notes.Add("execve: a set-user-ID or set-group-ID program runs with address randomisation on (the kernel clears ADDR_NO_RANDOMIZE): its real addresses cannot be predicted");
        }

        return result;
    }

    /// <summary>The host file at <paramref name="path"/> starts with the ELF magic and ELFCLASS32 (i386 or x32):
    /// the one divergence of exec the replay names (a 32-bit program the model refuses); false when it cannot be
    /// read.</summary>
    internal static bool IsElfClass32(string path)
    {
        Span<byte> ident = stackalloc byte[5];
        try
        {
            using FileStream file = File.OpenRead(path);
            return file.ReadAtLeast(ident, ident.Length, throwOnEndOfStream: false) == ident.Length
                && ident[..4].SequenceEqual("\u007fELF"u8) && ident[4] == 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>True if another live PID runs in the same process entry (vfork child and parent, threads).</summary>
    private bool SharesAddressSpace(MmSyscalls sys, int pid)
    {
        foreach (KeyValuePair<int, MmSyscalls> kv in _processes)
        {
            if (kv.Key != pid && ReferenceEquals(kv.Value, sys))
            {
                return true;
            }
        }

        return false;
    }
}
