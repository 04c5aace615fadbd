using System.Buffers;
using System.Globalization;
using System.Text;

namespace Mapwright.Trace.Output;

/// <summary>
/// A buffered UTF-8 writer over a stream: text is encoded straight into a 64 KiB buffer that reaches the stream
/// one large write at a time (a <c>write(2)</c> per buffer, not per line). It is also the
/// <see cref="IBufferWriter{T}"/> the JSON writer writes into.
/// </summary>
public sealed class Utf8Output : IBufferWriter<byte>, IDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private byte[] _buffer;
    private int _used;

    public Utf8Output(Stream stream, bool ownsStream = false, int bufferSize = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _ownsStream = ownsStream;
        _buffer = new byte[bufferSize];
    }

    public void Write(ReadOnlySpan<char> text)
    {
        // ASCII (nearly every line) narrows straight into the buffer; anything else goes through the encoder.
        if (text.Length <= _buffer.Length - _used
            && Ascii.FromUtf16(text, _buffer.AsSpan(_used), out int narrowed) == OperationStatus.Done)
        {
            _used += narrowed;
            return;
        }

        while (text.Length * 3 > _buffer.Length - _used)
        {
            Flush(force: false);
            if (text.Length * 3 <= _buffer.Length)
            {
                break;
            }

            // Long text (a maps view of many VMAs) goes out in buffer-sized pieces, never splitting a surrogate pair.
            int piece = _buffer.Length / 3;
            if (char.IsHighSurrogate(text[piece - 1]))
            {
                piece--;
            }

            _used += Encoding.UTF8.GetBytes(text[..piece], _buffer);
            text = text[piece..];
        }

        _used += Encoding.UTF8.GetBytes(text, _buffer.AsSpan(_used));
    }

    public void Write(char c)
    {
        if (c < 0x80 && _used < _buffer.Length)
        {
            _buffer[_used++] = (byte)c;
            return;
        }

        Span<char> one = [c];
        Write(one);
    }

    public void Write(long value)
    {
        Reserve(24);
        value.TryFormat(_buffer.AsSpan(_used), out int n, default, CultureInfo.InvariantCulture);
        _used += n;
    }

    public void WriteLine(ReadOnlySpan<char> text)
    {
        Write(text);
        Write('\n');
    }

    /// <summary>Sends what is buffered to the stream and flushes it.</summary>
    public void Flush() => Flush(force: true);

    public void Advance(int count) => _used += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_used);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_used);
    }

    public void Dispose()
    {
        Flush();
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    private void Reserve(int sizeHint)
    {
        int need = Math.Max(sizeHint, 256);
        if (_buffer.Length - _used < need)
        {
            Flush(force: false);
            if (_buffer.Length < need)
            {
                Grow(need);
            }
        }
    }

    private void Grow(int size) => Array.Resize(ref _buffer, Math.Max(size, _buffer.Length * 2));

    private void Flush(bool force)
    {
        if (_used != 0)
        {
            _stream.Write(_buffer, 0, _used);
            _used = 0;
        }

        if (force)
        {
            _stream.Flush();
        }
    }
}
