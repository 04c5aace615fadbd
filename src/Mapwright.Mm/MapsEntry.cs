using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// One line of /proc/PID/maps as fields: what <see cref="AddressSpace.FormatMaps"/> prints for a VMA. A
/// read-only view for tools that keep or draw the maps (the HTML report), without parsing the text.
/// Linux: fs/proc/task_mmu.c show_map_vma().
/// </summary>
/// <param name="Start">First address.</param>
/// <param name="End">One past the last address.</param>
/// <param name="Perms">The four permission characters, <c>rw-p</c>.</param>
/// <param name="Offset">The file offset in bytes (0 for memory without a file).</param>
/// <param name="DevMajor">The file's device major number.</param>
/// <param name="DevMinor">The file's device minor number.</param>
/// <param name="Inode">The file's inode number.</param>
/// <param name="Name">The path or the kernel's name (<c>[heap]</c>, <c>[vdso]</c>); empty for anonymous memory.</param>
/// <param name="File">The mapped file, null for anonymous memory and kernel mappings.</param>
/// <param name="Flags">The VMA's flags (the permission characters are four of them).</param>
public readonly record struct MapsEntry(
    ulong Start,
    ulong End,
    string Perms,
    ulong Offset,
    uint DevMajor,
    uint DevMinor,
    ulong Inode,
    string Name,
    MappedFile? File,
    VmFlags Flags);
