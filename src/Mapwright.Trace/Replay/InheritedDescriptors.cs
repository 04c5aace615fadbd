using Mapwright.Contract;
using Mapwright.Syscalls;
using Mapwright.Trace.Parsing;
using Mapwright.Vfs;

namespace Mapwright.Trace.Replay;

/// <summary>
/// Descriptors the traced process inherited from whoever started it (a shell, a test harness, strace's own
/// caller) appear in no line of the log. The first line that reveals one is trusted: a call that takes the lowest
/// free descriptor and got a higher one, or a call on a descriptor the log never opened that succeeded. Every
/// descriptor it shows to have been open, and whose state nothing in the log has decided, is installed as an
/// inherited file before the line runs (docs/divergences.md).
/// </summary>
internal static class InheritedDescriptors
{
    private const ulong AtFdcwd = unchecked((ulong)-100);

    /// <summary>The most descriptors one line may reveal (RLIMIT_NOFILE's usual hard limit is far above; a log
    /// with more is not trusted that far).</summary>
    private const ulong MaxRevealed = 4096;

    private static readonly Inode s_inherited = new(0, 0x0e, 3) { IsDevice = true, Fop = new FileOperations { Name = MmSyscalls.AnonInodeFsName } };

    /// <summary>Infers, from the log's result of <paramref name="call"/>, descriptors open before it.</summary>
    public static void BeforeCall(MmSyscalls sys, CallLine call)
    {
        if (!call.HasResult || call.ResultKind != TraceResultKind.Value || call.ResultValue < 0)
        {
            return;
        }

        switch (call.Name)
        {
            case "open" or "openat" or "memfd_create" or "dup":
                RevealBelow(sys, 0, (ulong)call.ResultValue);
                break;
            case "fcntl":
                ReadOnlySpan<char> cmd = call.ArgText(1);
                if (cmd.SequenceEqual("F_DUPFD") || cmd.SequenceEqual("F_DUPFD_CLOEXEC"))
                {
                    RevealBelow(sys, call.ArgCount > 2 ? call.Arg(2) : 0, (ulong)call.ResultValue);
                }

                break;
            default:
                break;
        }

        // A call on a descriptor that succeeded: the descriptor was open.
        switch (call.Name)
        {
            case "close" or "fcntl" or "ftruncate" or "fchdir" or "dup" or "dup2" or "dup3":
                Reveal(sys, call.Arg(0));
                break;
            case "openat" when !call.ArgString(1).StartsWith('/'):
                Reveal(sys, call.Arg(0));
                break;
            case "mmap" when call.ArgCount > 4 && (call.Arg(3) & 0x20) == 0:
                // Not MAP_ANONYMOUS: the fifth argument is a descriptor.
                Reveal(sys, call.Arg(4));
                break;
            default:
                break;
        }
    }

    /// <summary>Every unknown descriptor in [from, result) was open: the call would have taken the lowest.</summary>
    private static void RevealBelow(MmSyscalls sys, ulong from, ulong result)
    {
        if (result <= from || result - from > MaxRevealed)
        {
            return;
        }

        for (ulong fd = from; fd < result; fd++)
        {
            Reveal(sys, fd);
        }
    }

    private static void Reveal(MmSyscalls sys, ulong fd)
    {
        if (fd == AtFdcwd || fd >= 1 << 20 || sys.Files.IsKnown(fd) || sys.Files.Get(fd) is not null)
        {
            return;
        }

        sys.Files.InstallAt((int)fd, new MappedFile(s_inherited, "inherited", canRead: true, canWrite: true));
    }
}
