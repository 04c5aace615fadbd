using System.Diagnostics.CodeAnalysis;

namespace Mapwright.Diagnostics;

/// <summary>Linux's BUG_ON: raised loudly with what was expected and what was found.</summary>
public static class Bug
{
    public static void On([DoesNotReturnIf(true)] bool condition, string message)
    {
        if (condition)
        {
            Throw(message);
        }
    }

    [DoesNotReturn]
    public static void Throw(string message) => throw new KernelBugException("BUG: " + message);
}
