using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>mincore of one resident page of one of 10k VMAs: argument checks, VMA lookup, residency.
/// Native counterpart: oracle --bench "lookup_mincore".</summary>
[MemoryDiagnoser]
public class LookupBenchmark
{
    private MmSyscalls _sys = null!;
    private ulong _addr;

    [Params(10_000)]
    public int Vmas { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _sys = ModelProcess.WithVmas(Vmas);
        _addr = ModelProcess.Base + ((ulong)(Vmas / 2 | 1) * PageConstants.PageSize);
        _sys.Madvise(_addr, PageConstants.PageSize, (ulong)Madvise.PopulateWrite);
    }

    [Benchmark]
    public long MincoreOnePage() => _sys.Mincore(_addr, PageConstants.PageSize, vecValid: true, residency: null).Raw;

    [Benchmark]
    public ulong FindVma() => _sys.Mm.FindVma(_addr)!.Start;
}
