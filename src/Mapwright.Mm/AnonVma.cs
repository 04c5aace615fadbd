using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>
/// The reverse-map root of anonymous pages. Only its identity matters to the VMA rules: two VMAs
/// merge only if at most one has an anon_vma or both share the same one.
/// Linux: include/linux/rmap.h struct anon_vma.
/// </summary>
internal sealed class AnonVma
{
}
