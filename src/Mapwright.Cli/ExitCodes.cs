namespace Mapwright.Cli;

/// <summary>The exit codes of <c>mapwright</c>: each means one thing (docs/cli.md).</summary>
internal static class ExitCodes
{
    /// <summary>The trace ran (and, with <c>--check</c>, every compared result matched).</summary>
    public const int Ok = 0;

    /// <summary>With <c>--check</c>: at least one result diverged from the one written in the trace.</summary>
    public const int Diverged = 1;

    /// <summary>Malformed input: a trace line, an initial maps line or an option value.</summary>
    public const int Malformed = 2;

    /// <summary>The model hit its own BUG(): a broken invariant or an internal error.</summary>
    public const int Bug = 3;

    /// <summary>An I/O or resource error: a file that cannot be read, output that cannot be written, no memory.</summary>
    public const int IoError = 4;
}
