using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// The new stack's strings as execve copies them, top down from the highest user address: the path, the
/// environment, the arguments (and an empty argv[0] when there is none), each with its NUL. Checks the limits
/// (E2BIG) and gives the stack VMA's extent before the program is loaded.
/// Linux: fs/exec.c do_execveat_common(), bprm_stack_limits(), copy_strings(), copy_string_kernel(),
/// __bprm_mm_init(), setup_arg_pages().
/// </summary>
internal sealed class ExecStack
{
    /// <summary>STACK_TOP_MAX on x86-64 with 4-level paging (TASK_SIZE_MAX); STACK_TOP is the same.</summary>
    public const ulong StackTop = PageConstants.TaskSize;

    /// <summary>MAX_ARG_STRLEN: one string, NUL included.</summary>
    private const ulong MaxArgStrlen = 32 * PageConstants.PageSize;

    /// <summary>ARG_MAX: the strings' floor limit for small stacks.</summary>
    private const ulong ArgMax = 131072;

    /// <summary>_STK_LIM.</summary>
    private const ulong StkLim = 8UL << 20;

    /// <summary>setup_arg_pages()' stack_expand: the room added below the strings.</summary>
    private const ulong StackExpand = 131072;

    private readonly ulong _argMin;

    private ExecStack(List<byte[]> argv, IReadOnlyList<byte[]> envp, byte[] path, ulong argStart, ulong execFn, ulong argMin)
    {
        Argv = argv;
        Envp = envp;
        Path = path;
        ArgStart = argStart;
        Lowest = argStart;
        ExecFn = execFn;
        _argMin = argMin;
    }

    /// <summary>The arguments as the program gets them (one empty string when execve was given none).</summary>
    public List<byte[]> Argv { get; }

    public IReadOnlyList<byte[]> Envp { get; }

    public byte[] Path { get; }

    /// <summary>The lowest string byte: bprm->p, then mm->arg_start (no shift: randomisation off, the stack stays
    /// where it was built).</summary>
    public ulong ArgStart { get; private set; }

    /// <summary>The lowest byte ever written (a script's rewrite of argv[0] may move <see cref="ArgStart"/> up
    /// again): the stack VMA covers its page.</summary>
    public ulong Lowest { get; private set; }

    /// <summary>Where the path string is: AT_EXECFN.</summary>
    public ulong ExecFn { get; }

    /// <summary>
    /// Counts and copies the strings as the kernel would, failing with E2BIG where it does.
    /// Linux: bprm_stack_limits() (a quarter of the stack limit, at most 3/4 of _STK_LIM, at least ARG_MAX,
    /// less one pointer per string), valid_arg_len() (MAX_ARG_STRLEN), the argmin check of copy_strings().
    /// </summary>
    public static Errno Copy(ExecRequest request, ulong rlimitStack, out ExecStack? stack)
    {
        stack = null;
        byte[] path = System.Text.Encoding.UTF8.GetBytes(request.Filename ?? request.Path);
        ulong p = StackTop - sizeof(ulong);
        ulong limit = Math.Min(StkLim / 4 * 3, rlimitStack / 4);
        limit = Math.Max(limit, ArgMax);
        ulong ptrSize = ((ulong)Math.Max(request.Argv.Count, 1) + (ulong)request.Envp.Count) * sizeof(ulong);
        if (limit <= ptrSize)
        {
            return Errno.E2BIG;
        }

        ulong argMin = p - (limit - ptrSize);
        if (!Take(path, ref p, argMin))
        {
            return Errno.E2BIG;
        }

        ulong execFn = p;
        for (int i = request.Envp.Count - 1; i >= 0; i--)
        {
            if (!Take(request.Envp[i], ref p, argMin))
            {
                return Errno.E2BIG;
            }
        }

        var argv = new List<byte[]>(request.Argv);
        for (int i = argv.Count - 1; i >= 0; i--)
        {
            if (!Take(argv[i], ref p, argMin))
            {
                return Errno.E2BIG;
            }
        }

        if (argv.Count == 0)
        {
            // An empty argv gets "" as argv[0] (do_execveat_common()).
            byte[] empty = [];
            if (!Take(empty, ref p, argMin))
            {
                return Errno.E2BIG;
            }

            argv.Add(empty);
        }

        stack = new ExecStack(argv, request.Envp, path, p, execFn, argMin);
        return Errno.None;
    }

    /// <summary>Drops argv[0]: the strings now start after it. Linux: fs/exec.c remove_arg_zero().</summary>
    public void RemoveArgZero()
    {
        if (Argv.Count == 0)
        {
            return;
        }

        ArgStart += (ulong)Argv[0].Length + 1;
        Argv.RemoveAt(0);
    }

    /// <summary>Pushes a new argv[0] below the strings, or E2BIG. Linux: fs/exec.c copy_string_kernel().</summary>
    public Errno PushArgument(byte[] s)
    {
        ulong p = ArgStart;
        if (!Take(s, ref p, _argMin))
        {
            return Errno.E2BIG;
        }

        ArgStart = p;
        Lowest = Math.Min(Lowest, p);
        Argv.Insert(0, s);
        return Errno.None;
    }

    private static bool Take(byte[] s, ref ulong p, ulong argMin)
    {
        ulong len = (ulong)s.Length + 1;
        if (len > MaxArgStrlen)
        {
            return false;
        }

        p -= len;
        return p >= argMin;
    }

    /// <summary>
    /// The stack VMA's start once setup_arg_pages() has run: the pages the strings touched, grown by 128 KiB
    /// (never past the stack limit). Linux: fs/exec.c setup_arg_pages() stack_expand.
    /// </summary>
    public ulong VmaStartAfterSetup(ulong rlimitStack)
    {
        ulong start = Lowest & PageConstants.PageMask;
        ulong stackSize = StackTop - start;
        ulong rlim = rlimitStack & PageConstants.PageMask;
        ulong expand = Math.Min(rlim, stackSize + StackExpand);
        ulong stackBase = StackTop - expand;
        return Math.Min(start, stackBase & PageConstants.PageMask);
    }
}
