using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>mprotect of the middle page of a 3-page VMA (split in three) and back (merge), with 10k VMAs.
/// Native counterpart: oracle --bench "mprotect_split_merge".</summary>
[MemoryDiagnoser]
public class MprotectSplitMergeBenchmark
{
    private MmSyscalls _sys = null!;
    private ulong _middle;

    [Params(10_000)]
    public int Vmas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sys = ModelProcess.WithVmas(Vmas);
        SysResult r = _sys.Mmap(0, 3 * PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0);
        _middle = r.Value + PageConstants.PageSize;
    }

    [Benchmark]
    public long SplitAndMerge()
    {
        SysResult a = _sys.Mprotect(_middle, PageConstants.PageSize, (ulong)Prot.Read);
        SysResult b = _sys.Mprotect(_middle, PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write));
        return a.Raw + b.Raw;
    }
}
