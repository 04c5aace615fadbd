using System.Buffers.Binary;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>One ELF64 program header. Linux: include/uapi/linux/elf.h struct elf64_phdr.</summary>
public readonly record struct ElfProgramHeader(
    uint Type, uint Flags, ulong Offset, ulong Vaddr, ulong FileSize, ulong MemSize, ulong Align)
{
    /// <summary>sizeof(struct elf64_phdr).</summary>
    public const int Size = 56;

    public const uint PtLoad = 1;
    public const uint PtInterp = 3;
    public const uint PtGnuStack = 0x6474e551;
    public const uint PtGnuRelro = 0x6474e552;

    public const uint PfX = 1;
    public const uint PfW = 2;
    public const uint PfR = 4;

    /// <summary>Decodes <paramref name="count"/> headers from <paramref name="bytes"/>.</summary>
    public static ElfProgramHeader[] ParseAll(ReadOnlySpan<byte> bytes, int count)
    {
        var result = new ElfProgramHeader[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> p = bytes.Slice(i * Size, Size);
            result[i] = new ElfProgramHeader(
                BinaryPrimitives.ReadUInt32LittleEndian(p),
                BinaryPrimitives.ReadUInt32LittleEndian(p[4..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[16..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[32..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[40..]),
                BinaryPrimitives.ReadUInt64LittleEndian(p[48..]));
        }

        return result;
    }

    /// <summary>The protection a PT_LOAD segment is mapped with. Linux: fs/binfmt_elf.c make_prot().</summary>
    public Abi.Prot Prot =>
        ((Flags & PfR) != 0 ? Abi.Prot.Read : Abi.Prot.None)
        | ((Flags & PfW) != 0 ? Abi.Prot.Write : Abi.Prot.None)
        | ((Flags & PfX) != 0 ? Abi.Prot.Exec : Abi.Prot.None);
}
