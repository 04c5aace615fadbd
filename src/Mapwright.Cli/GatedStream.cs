using System.Runtime.InteropServices;

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
    private Action? _onLimit;
    private HeldOutput? _held = new();

    /// <param name="inner">Where the output goes once open.</param>
    /// <param name="check">The check; true when the trace is well formed.</param>
    /// <param name="onLimit">Called once, before the writer first waits for the check at the limit: a check that
    /// would only end with the replay (made by the replay's own reader) starts one that does not.</param>
    public GatedStream(Stream inner, Task<bool> check, Action? onLimit = null)
    {
        _inner = inner;
        _check = check;
        _onLimit = onLimit;
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
            held.CopyTo(_inner);
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
            if (!checkedGood && held.Length + (long)buffer.Length > Limit)
            {
                Action? onLimit = _onLimit;
                _onLimit = null;
                if (!_check.IsCompleted)
                {
                    onLimit?.Invoke();
                }

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

    /// <summary>Drops output never opened (the trace was malformed, or the run failed before its check ended).</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _held?.Dispose();
            _held = null;
        }

        base.Dispose(disposing);
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>
/// Output held back, in chunks that are filled once and never copied to grow. The chunks are native memory, not
/// arrays: megabyte arrays on the large-object heap count toward its budget, and the run's held output then set
/// off full collections of the whole model (about a twentieth of a churn replay's time). Freed once sent, or by
/// <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class HeldOutput : IDisposable
{
    private const int ChunkSize = 1 << 20;
    private readonly List<nint> _chunks = [];
    private int _lastUsed = ChunkSize;

    public long Length { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            if (_lastUsed == ChunkSize)
            {
                _chunks.Add((nint)NativeMemory.Alloc(ChunkSize));
                _lastUsed = 0;
            }

            int n = Math.Min(data.Length, ChunkSize - _lastUsed);
            data[..n].CopyTo(new Span<byte>((byte*)_chunks[^1] + _lastUsed, n));
            _lastUsed += n;
            Length += n;
            data = data[n..];
        }
    }

    /// <summary>Writes everything held to <paramref name="destination"/>, freeing each chunk once written.</summary>
    public void CopyTo(Stream destination)
    {
        for (int i = 0; i < _chunks.Count; i++)
        {
            destination.Write(new ReadOnlySpan<byte>((byte*)_chunks[i], i == _chunks.Count - 1 ? _lastUsed : ChunkSize));
            NativeMemory.Free((void*)_chunks[i]);
            _chunks[i] = 0;
        }

        Dispose();
    }

    public void Dispose()
    {
        foreach (nint chunk in _chunks)
        {
            NativeMemory.Free((void*)chunk);
        }

        _chunks.Clear();
        _lastUsed = ChunkSize;
        Length = 0;
    }
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
