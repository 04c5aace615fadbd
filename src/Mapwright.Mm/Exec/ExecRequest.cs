using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// What execve is given: the path to open (as passed: it also becomes AT_EXECFN), the argument and environment
/// strings as bytes (without their terminating NULs).
/// </summary>
public sealed record ExecRequest(string Path, IReadOnlyList<byte[]> Argv, IReadOnlyList<byte[]> Envp)
{
    /// <summary>The name the kernel copies to the stack (AT_EXECFN) and gives a script's interpreter when it is
    /// not <see cref="Path"/>: execveat's <c>/dev/fd/N</c> or <c>/dev/fd/N/NAME</c>. Linux: fs/exec.c
    /// alloc_bprm().</summary>
    public string? Filename { get; init; }

    /// <summary>A request from .NET strings (encoded as UTF-8).</summary>
    public static ExecRequest FromStrings(string path, IEnumerable<string> argv, IEnumerable<string> envp)
    {
        var a = new List<byte[]>();
        foreach (string s in argv)
        {
            a.Add(System.Text.Encoding.UTF8.GetBytes(s));
        }

        var e = new List<byte[]>();
        foreach (string s in envp)
        {
            e.Add(System.Text.Encoding.UTF8.GetBytes(s));
        }

        return new ExecRequest(path, a, e);
    }
}
