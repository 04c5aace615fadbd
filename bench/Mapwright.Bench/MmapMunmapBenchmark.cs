using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>A hint-less anonymous mmap of one page and its munmap, with N VMAs present.
/// Native counterpart: oracle --bench "mmap_munmap".</summary>
[MemoryDiagnoser]
public class MmapMunmapBenchmark
{
    private MmSyscalls _sys = null!;

    [Params(100, 10_000, 65_000, 1_000_000)]
    public int Vmas { get; set; }

    [GlobalSetup]
    public void Setup() => _sys = ModelProcess.WithVmas(Vmas);

    [Benchmark]
    public ulong MmapMunmap()
    {
        SysResult r = _sys.Mmap(0, PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0);
        _sys.Munmap(r.Value, PageConstants.PageSize);
        return r.Value;
    }
}
