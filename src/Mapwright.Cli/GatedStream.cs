namespace Mapwright.Cli;

/// <summary>
/// Output held back until the trace has been checked: a replay of a file starts while another thread validates the
/// file, and what it writes waits here (up to <see cref="Limit"/> bytes, then the writer waits for the check) so
/// that malformed input is still reported before any output. <see cref="Open"/> lets it through; output never
/// opened is dropped.
/// </summary>
internal sealed class GatedStream : Stream
{
    /// <summary>The most output held back before the replay waits for the check.</summary>
    public const int Limit = 32 << 20;

    private readonly Stream _inner;
    private readonly Task<bool> _check;
    private MemoryStream? _held = new();

    /// <param name="inner">Where the output goes once open.</param>
    /// <param name="check">The check; true when the trace is well formed.</param>
    public GatedStream(Stream inner, Task<bool> check)
    {
        _inner = inner;
        _check = check;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Sends what was held back and lets the rest through.</summary>
    public void Open()
    {
        if (_held is { } held)
        {
            _held = null;
            _inner.Write(held.GetBuffer(), 0, (int)held.Length);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_held is { } held)
        {
            // Held back until the check is known good: at once when it has finished, or by waiting once the limit
            // is reached.
            bool checkedGood = _check.IsCompletedSuccessfully && _check.Result;
            if (!checkedGood && held.Length + buffer.Length > Limit)
            {
                if (!_check.GetAwaiter().GetResult())
                {
                    throw new MalformedTraceException();
                }

                checkedGood = true;
            }

            if (!checkedGood)
            {
                held.Write(buffer);
                return;
            }

            Open();
        }

        _inner.Write(buffer);
    }

    public override void Flush()
    {
        if (_held is null)
        {
            _inner.Flush();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>The check of the trace found malformed lines while the replay was running ahead of it.</summary>
internal sealed class MalformedTraceException : Exception
{
    public MalformedTraceException()
        : base("the trace is malformed")
    {
    }

    public MalformedTraceException(string message)
        : base(message)
    {
    }

    public MalformedTraceException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
