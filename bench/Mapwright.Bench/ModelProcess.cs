using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>A model process holding N single-page VMAs that cannot merge (alternating protections), placed
/// at 0x100000000000 like the native side's, far from where hint-less mappings go.</summary>
internal static class ModelProcess
{
    public const ulong Base = 0x100000000000UL;

    public static MmSyscalls WithVmas(int count)
    {
        var config = MmConfig.FromHost() with { MaxMapCount = Math.Max(65530, count + 1000) };
        var sys = new Machine().NewProcess(config);
        const ulong flags = (ulong)(MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed);
        for (int i = 0; i < count; i++)
        {
            ulong prot = (i & 1) == 0 ? (ulong)Prot.Read : (ulong)(Prot.Read | Prot.Write);
            SysResult r = sys.Mmap(Base + ((ulong)i * PageConstants.PageSize), PageConstants.PageSize, prot, flags, ulong.MaxValue, 0);
            if (r.IsError)
            {
                throw new InvalidOperationException($"setup mmap {i} failed: {r}");
            }
        }

        if (sys.Mm.MapCount != count)
        {
            throw new InvalidOperationException($"expected {count} VMAs, have {sys.Mm.MapCount}");
        }

        return sys;
    }
}
