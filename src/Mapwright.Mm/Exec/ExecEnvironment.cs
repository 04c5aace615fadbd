using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>What an exec builds beside the program: the kernel's own mappings and auxiliary vector
/// (<see cref="HostExecEnvironment"/>), and an mmap_base that overrides the one computed from the stack limit.</summary>
public sealed record ExecEnvironment(HostExecEnvironment Host, ulong? MmapBase = null)
{
    /// <summary>This host's kernel, mmap_base as Linux computes it.</summary>
    public static ExecEnvironment FromHost() => new(HostExecEnvironment.Host);
}
