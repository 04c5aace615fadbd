using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>
/// The first touch of every page of a fresh 256 MiB private anonymous mapping: a write (zero-filled page, the
/// anonymous fault) or a read (the zero page), through the same user-access path a peek or poke takes. One
/// process maps, touches and unmaps the region each iteration, as the native side does: its frames and its
/// page-table index are reused from one iteration to the next, as the kernel reuses pages and page tables.
/// (ResidentPageCostBenchmark measures a fresh process, growth included.)
/// Native counterpart: oracle --bench "first_touch_write" / "first_touch_read" (one byte per page, 64 MiB,
/// MADV_NOHUGEPAGE).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class FirstTouchBenchmark
{
    public const int Pages = 65536;

    private readonly MmSyscalls _sys = new Machine().NewProcess(MmConfig.FromHost());
    private ulong _addr;

    [Params("write", "read")]
    public string Access { get; set; } = "write";

    [IterationSetup]
    public void Map()
    {
        _addr = _sys.Mmap(0, (ulong)Pages * PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0).Value;
    }

    [IterationCleanup]
    public void Unmap() => _sys.Munmap(_addr, (ulong)Pages * PageConstants.PageSize);

    [Benchmark(OperationsPerInvoke = Pages)]
    public Signal Touch()
    {
        Signal last = Signal.None;
        if (Access == "write")
        {
            for (int i = 0; i < Pages; i++)
            {
                last |= _sys.Poke(_addr + ((ulong)i << PageConstants.PageShift), 1, 1);
            }
        }
        else
        {
            for (int i = 0; i < Pages; i++)
            {
                last |= _sys.Peek(_addr + ((ulong)i << PageConstants.PageShift), 1, out _);
            }
        }

        return last;
    }
}
