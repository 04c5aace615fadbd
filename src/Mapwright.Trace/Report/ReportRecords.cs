using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;

namespace Mapwright.Trace.Report;

/// <summary>
/// The report's data block: a stream of tagged records (docs/report.md, "Data block"), written as it is produced
/// through gzip and base64 into the page, so that the report of a long log is never held in memory whole. Numbers
/// are LEB128 varints (signed ones zigzag); strings are interned and sent once, then referred to by id. Addresses
/// are sent as differences from a running register (the last address written), since a call's arguments, its
/// result and the VMAs it changed lie close together.
/// </summary>
internal sealed class ReportRecords : IDisposable
{
    public const byte TagString = 1;
    public const byte TagProcess = 2;
    public const byte TagStep = 3;
    public const byte TagSmaps = 4;
    public const byte TagChart = 5;
    public const byte TagEnd = 6;
    public const byte TagExit = 7;
    public const byte TagFinal = 8;

    /// <summary>Hex values at or above this are sent whole (two 32-bit halves): the page's numbers are doubles.</summary>
    public const ulong ExactLimit = 1UL << 52;

    /// <summary>Data up to this many bytes is sent without compression: the page then reads it as it loads, before
    /// its load event, with nothing left to wait for.</summary>
    public const int PlainLimit = 512 << 10;

    private readonly Stream _file;
    private readonly Action<bool> _begin;
    private readonly MemoryStream _plain = new();
    private CryptoStream? _base64;
    private GZipStream? _gzip;
    private readonly Dictionary<string, int> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private byte[] _buffer = new byte[1 << 16];
    private int _used;

    /// <summary>The record being written: it reaches <see cref="_buffer"/> whole at <see cref="EndRecord"/>, after
    /// the string records its strings needed, which <see cref="Intern(string)"/> writes at once.</summary>
    private byte[] _record = new byte[1 << 12];
    private int _recordUsed;
    private byte _recordTag;
    private bool _finished;

    /// <param name="file">Where the base64 goes.</param>
    /// <param name="begin">Writes what comes before the data, once it is known whether the data is compressed
    /// (true) or not: data that stays under <see cref="PlainLimit"/> is held back to the end and sent plain.</param>
    public ReportRecords(Stream file, Action<bool> begin)
    {
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<char>>();
        _file = file;
        _begin = begin;
    }

    /// <summary>Whether the data is compressed; known once it outgrew <see cref="PlainLimit"/> or ended.</summary>
    public bool Compressed => _gzip is not null;

    /// <summary>The register of byte addresses (call arguments, results, hook ranges).</summary>
    public ulong AddressRegister { get; private set; }

    /// <summary>The register of page numbers (VMA starts).</summary>
    public ulong PageRegister { get; private set; }

    /// <summary>Bytes of records so far.</summary>
    public long RawBytes { get; private set; }

    /// <summary>Starts a record with its tag.</summary>
    public void BeginRecord(byte tag)
    {
        _recordTag = tag;
        _recordUsed = 0;
    }

    /// <summary>Ends the record: its tag, the length of its body and the body follow the string records written
    /// since it began. The length lets the page hop over records it does not need yet.</summary>
    public void EndRecord()
    {
        Ensure(_recordUsed + 11);
        _buffer[_used++] = _recordTag;
        ulong len = (ulong)_recordUsed;
        while (len >= 0x80)
        {
            _buffer[_used++] = (byte)(len | 0x80);
            len >>= 7;
        }

        _buffer[_used++] = (byte)len;
        _record.AsSpan(0, _recordUsed).CopyTo(_buffer.AsSpan(_used));
        _used += _recordUsed;
        _recordUsed = 0;
    }

    public void Byte(byte b)
    {
        Room(1);
        _record[_recordUsed++] = b;
    }

    public void Unsigned(ulong v)
    {
        Room(10);
        while (v >= 0x80)
        {
            _record[_recordUsed++] = (byte)(v | 0x80);
            v >>= 7;
        }

        _record[_recordUsed++] = (byte)v;
    }

    public void Signed(long v) => Unsigned((ulong)((v << 1) ^ (v >> 63)));

    /// <summary>An interned string's id (0 is the empty string); a new string is sent first as a string record.</summary>
    public int Intern(string s) => Intern(s.AsSpan());

    /// <summary>As <see cref="Intern(string)"/>, allocating only for a string not seen before.</summary>
    public int Intern(ReadOnlySpan<char> text)
    {
        if (text.Length == 0)
        {
            return 0;
        }

        if (_lookup.TryGetValue(text, out int id))
        {
            return id;
        }

        string s = text.ToString();
        id = _strings.Count + 1;
        _strings[s] = id;
        int max = Encoding.UTF8.GetMaxByteCount(s.Length);
        Ensure(max + 11);
        _buffer[_used++] = TagString;
        int n = Encoding.UTF8.GetBytes(s, 0, s.Length, _buffer, _used + 5);
        // The length as a fixed five-byte varint before them, so the bytes can be encoded in place.
        uint len = (uint)n;
        for (int i = 0; i < 4; i++)
        {
            _buffer[_used++] = (byte)((len & 0x7f) | 0x80);
            len >>= 7;
        }

        _buffer[_used++] = (byte)len;
        _used += n;
        return id;
    }

    /// <summary>A string written in place (not interned): a length, then UTF-8 bytes.</summary>
    public void Text(string s)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(s);
        Unsigned((ulong)bytes.Length);
        Room(bytes.Length);
        bytes.CopyTo(_record, _recordUsed);
        _recordUsed += bytes.Length;
    }

    /// <summary>A 64-bit value whole, as two 32-bit halves, high first.</summary>
    public void Whole(ulong value)
    {
        Room(8);
        BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(_recordUsed), (uint)(value >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(_record.AsSpan(_recordUsed + 4), (uint)value);
        _recordUsed += 8;
    }

    /// <summary>An address: a difference from <see cref="AddressRegister"/> (tag 0), or whole (tag 1) when it is too
    /// large for the page's doubles. Page-aligned values also move <see cref="PageRegister"/>.</summary>
    public void Address(ulong value)
    {
        if (value < ExactLimit)
        {
            Byte(0);
            Signed((long)value - (long)AddressRegister);
            AddressRegister = value;
            PageRegister = value >> 12;
        }
        else
        {
            Byte(1);
            Whole(value);
        }
    }

    /// <summary>Sets both registers to 0: what follows can be read without the records before it.</summary>
    public void ResetRegisters()
    {
        AddressRegister = 0;
        PageRegister = 0;
    }

    /// <summary>A page number, as a difference from <see cref="PageRegister"/>.</summary>
    public void Page(ulong page)
    {
        Signed((long)page - (long)PageRegister);
        PageRegister = page;
    }

    /// <summary>Ends the data block: compressor and base64 closed, the file left open after the last character.</summary>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }

        _finished = true;
        Drain();
        if (_gzip is null)
        {
            _begin(false);
            _base64 = new CryptoStream(_file, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true);
            _plain.Position = 0;
            _plain.CopyTo(_base64);
        }
        else
        {
            _gzip.Dispose();
        }

        _base64!.FlushFinalBlock();
        _base64.Dispose();
        _file.Flush();
    }

    public void Dispose()
    {
        if (!_finished)
        {
            _finished = true;
            _gzip?.Dispose();
            _base64?.Dispose();
        }

        _plain.Dispose();
    }

    private void Room(int bytes)
    {
        if (_recordUsed + bytes > _record.Length)
        {
            Array.Resize(ref _record, Math.Max(_record.Length * 2, _recordUsed + bytes));
        }
    }

    private void Ensure(int bytes)
    {
        if (_used + bytes <= _buffer.Length)
        {
            return;
        }

        if (bytes > _buffer.Length / 2)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _used + bytes));
            return;
        }

        Drain();
    }

    private void Drain()
    {
        if (_gzip is null && _plain.Length + _used > PlainLimit)
        {
            // Too long to send plain: compressed from here on, what was held back first.
            _begin(true);
            _base64 = new CryptoStream(_file, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true);
            _gzip = new GZipStream(_base64, CompressionLevel.SmallestSize, leaveOpen: true);
            _gzip.Write(_plain.GetBuffer(), 0, (int)_plain.Length);
            _plain.SetLength(0);
            _plain.Capacity = 0;
        }

        if (_gzip is null)
        {
            _plain.Write(_buffer, 0, _used);
        }
        else
        {
            _gzip.Write(_buffer, 0, _used);
        }

        RawBytes += _used;
        _used = 0;
    }
}
