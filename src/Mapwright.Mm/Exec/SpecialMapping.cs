using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>One kernel mapping of the vDSO block ([vvar], [vvar_vclock], [vdso]): where it sits in the block,
/// its length and VMA flags.</summary>
public sealed record SpecialMapping(string Name, ulong Offset, ulong Length, VmFlags Flags);
