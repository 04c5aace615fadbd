using System.Buffers.Binary;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// The fields of an ELF64 file header the loader reads (little-endian, x86-64), decoded from the first bytes of
/// the file. A file shorter than the header reads as if padded with zeros, as the kernel's zero-filled
/// <c>bprm->buf</c> is. Linux: include/uapi/linux/elf.h struct elf64_hdr.
/// </summary>
public readonly record struct ElfHeader(
    bool HasMagic, ushort Type, ushort Machine, ulong Entry, ulong PhOff, ushort PhEntSize, ushort PhNum)
{
    /// <summary>sizeof(struct elf64_hdr).</summary>
    public const int Size = 64;

    /// <summary>ET_EXEC: a fixed-address executable.</summary>
    public const ushort EtExec = 2;

    /// <summary>ET_DYN: a position-independent executable, shared object or loader.</summary>
    public const ushort EtDyn = 3;

    /// <summary>EM_X86_64.</summary>
    public const ushort EmX8664 = 62;

    /// <summary>Decodes the header from up to <see cref="Size"/> bytes.</summary>
    public static ElfHeader Parse(ReadOnlySpan<byte> bytes)
    {
        Span<byte> buf = stackalloc byte[Size];
        buf.Clear();
        bytes[..Math.Min(bytes.Length, Size)].CopyTo(buf);
        bool magic = buf[0] == 0x7f && buf[1] == (byte)'E' && buf[2] == (byte)'L' && buf[3] == (byte)'F';
        return new ElfHeader(
            magic,
            BinaryPrimitives.ReadUInt16LittleEndian(buf[16..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buf[18..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buf[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(buf[32..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buf[54..]),
            BinaryPrimitives.ReadUInt16LittleEndian(buf[56..]));
    }

    /// <summary>The type and machine binfmt_elf accepts on x86-64. Linux: fs/binfmt_elf.c load_elf_binary(),
    /// arch/x86/include/asm/elf.h elf_check_arch().</summary>
    public bool IsLoadable => HasMagic && (Type == EtExec || Type == EtDyn) && Machine == EmX8664;
}
