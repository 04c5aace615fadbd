using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// <c>#!</c> scripts: the first line names an interpreter (and one optional argument); the arguments become
/// interpreter, [argument,] script path, then the script's argv[1...], and the interpreter is executed instead.
/// Linux: fs/binfmt_script.c load_script(), fs/exec.c remove_arg_zero(), bprm_change_interp().
/// </summary>
internal static class ScriptLoader
{
    /// <summary>True if the header starts with <c>#!</c>.</summary>
    public static bool IsScript(ReadOnlySpan<byte> header) => header.Length >= 2 && header[0] == (byte)'#' && header[1] == (byte)'!';

    /// <summary>
    /// Rewrites the strings for the script whose first <see cref="BufSize"/> bytes are <paramref name="header"/>
    /// and opens its interpreter. <paramref name="interpName"/> is the path pushed as the script's name (the exec's
    /// path at first, then each interpreter's name). Errors: ENOEXEC (no interpreter on the line, or a path cut by
    /// the buffer), E2BIG, and the interpreter's open errors.
    /// </summary>
    public static Errno Load(byte[] header, ExecStack stack, ref string interpName, IExecFileOpener opener, out ExecFile? interpreter)
    {
        interpreter = null;
        byte[] buf = new byte[BufSize];
        header.AsSpan(0, Math.Min(header.Length, BufSize)).CopyTo(buf);
        int bufEnd = BufSize - 1;
        int iEnd = Array.IndexOf(buf, (byte)'\n');
        if (iEnd < 0)
        {
            int first = NextNonSpaceTab(buf, 2, bufEnd);
            if (first < 0 || NextTerminator(buf, first, bufEnd) < 0)
            {
                // Only blanks, or an interpreter path the buffer may have cut.
                return Errno.ENOEXEC;
            }

            iEnd = bufEnd;
        }

        while (iEnd > 0 && IsSpaceTab(buf[iEnd - 1]))
        {
            iEnd--;
        }

        int iName = NextNonSpaceTab(buf, 2, iEnd);
        if (iName < 0 || iName == iEnd)
        {
            return Errno.ENOEXEC;
        }

        int iSep = NextTerminator(buf, iName, iEnd);
        int iArg = -1;
        if (iSep >= 0 && buf[iSep] != 0)
        {
            iArg = NextNonSpaceTab(buf, iSep, iEnd);
        }

        byte[] name = buf[iName..(iSep >= 0 ? Math.Min(iSep, iEnd) : iEnd)];
        name = name[..(Array.IndexOf(name, (byte)0) is int nul and >= 0 ? nul : name.Length)];
        stack.RemoveArgZero();
        Errno err = stack.PushArgument(System.Text.Encoding.UTF8.GetBytes(interpName));
        if (err == Errno.None && iArg >= 0)
        {
            byte[] arg = buf[iArg..iEnd];
            arg = arg[..(Array.IndexOf(arg, (byte)0) is int an and >= 0 ? an : arg.Length)];
            err = stack.PushArgument(arg);
        }

        if (err == Errno.None)
        {
            err = stack.PushArgument(name);
        }

        if (err != Errno.None)
        {
            return err;
        }

        interpName = System.Text.Encoding.UTF8.GetString(name);
        return opener.OpenExec(interpName, out interpreter);
    }

    /// <summary>BINPRM_BUF_SIZE.</summary>
    public const int BufSize = 256;

    private static bool IsSpaceTab(byte c) => c is (byte)' ' or (byte)'\t';

    /// <summary>The first index in [first, last] that is not a space or tab, or -1.</summary>
    private static int NextNonSpaceTab(byte[] buf, int first, int last)
    {
        for (; first <= last; first++)
        {
            if (!IsSpaceTab(buf[first]))
            {
                return first;
            }
        }

        return -1;
    }

    /// <summary>The first index in [first, last] holding a space, tab or NUL, or -1.</summary>
    private static int NextTerminator(byte[] buf, int first, int last)
    {
        for (; first <= last; first++)
        {
            if (IsSpaceTab(buf[first]) || buf[first] == 0)
            {
                return first;
            }
        }

        return -1;
    }
}
