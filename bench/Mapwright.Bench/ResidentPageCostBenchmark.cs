using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>
/// What memory costs: "Allocated" per operation is the bytes allocated per resident page for a process that
/// starts with nothing and writes every page of a 256 MiB mapping (the frames' slabs, the page-table index as it
/// grows, the per-frame record, the VMA), and the bytes an untouched 1 GiB mapping costs in all (its VMA).
/// </summary>
[MemoryDiagnoser]
public class ResidentPageCostBenchmark
{
    public const int Pages = 65536;

    [Benchmark(OperationsPerInvoke = Pages)]
    public long WriteEveryPageOfFreshProcess()
    {
        var sys = new Machine().NewProcess(MmConfig.FromHost());
        ulong addr = sys.Mmap(0, (ulong)Pages * PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0).Value;
        for (int i = 0; i < Pages; i++)
        {
            sys.Poke(addr + ((ulong)i << PageConstants.PageShift), 1, 1);
        }

        return sys.Machine.Memory.FramesInUse;
    }

    private MmSyscalls _untouched = null!;

    [GlobalSetup(Target = nameof(MapUntouchedGigabyte))]
    public void SetupUntouched() => _untouched = new Machine().NewProcess(MmConfig.FromHost());

    [Benchmark]
    public ulong MapUntouchedGigabyte()
    {
        ulong addr = _untouched.Mmap(0, 1UL << 30, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0).Value;
        _untouched.Munmap(addr, 1UL << 30);
        return addr;
    }
}
