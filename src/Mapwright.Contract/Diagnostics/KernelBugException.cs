namespace Mapwright.Diagnostics;

/// <summary>The model's <c>BUG()</c>: a broken invariant in the model or a hook that broke its contract.</summary>
public sealed class KernelBugException : Exception
{
    public KernelBugException(string message)
        : base(message)
    {
    }

    public KernelBugException()
    {
    }

    public KernelBugException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
