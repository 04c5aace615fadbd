using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

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

    /// <summary>As <see cref="On(bool, string)"/>, but the interpolated message is only formatted when the
    /// condition holds, so checks on hot paths cost nothing when they pass.</summary>
    public static void On([DoesNotReturnIf(true)] bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref BugMessageHandler message)
    {
        if (condition)
        {
            Throw(message.ToStringAndClear());
        }
    }

    [DoesNotReturn]
    public static void Throw(string message) => throw new KernelBugException("BUG: " + message);
}
