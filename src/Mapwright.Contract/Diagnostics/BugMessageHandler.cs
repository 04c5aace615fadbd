using System.Runtime.CompilerServices;

namespace Mapwright.Diagnostics;

/// <summary>Builds a <see cref="Bug.On(bool, ref BugMessageHandler)"/> message only when the bug fires.</summary>
[InterpolatedStringHandler]
public ref struct BugMessageHandler
{
    private DefaultInterpolatedStringHandler _inner;
    private readonly bool _enabled;

    public BugMessageHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
    {
        _enabled = condition;
        shouldAppend = condition;
        _inner = condition ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value) => _inner.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _inner.AppendFormatted(value, format);

    public string ToStringAndClear() => _enabled ? _inner.ToStringAndClear() : string.Empty;
}
