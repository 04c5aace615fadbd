using BenchmarkDotNet.Attributes;
using Mapwright.Abi;
using Mapwright.Mm;
using Mapwright.Syscalls;

namespace Mapwright.Bench;

/// <summary>peek and poke of 8 bytes on pages already resident (no fault): the model's user-access path
/// alone, with 10,000 other VMAs in the address space.</summary>
[MemoryDiagnoser]
public class AccessBenchmark
{
    private const int Resident = 1024;
    private MmSyscalls _sys = null!;
    private ulong _addr;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _sys = ModelProcess.WithVmas(10_000);
        _addr = _sys.Mmap(0, Resident * PageConstants.PageSize, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous), ulong.MaxValue, 0).Value;
        for (int i = 0; i < Resident; i++)
        {
            _sys.Poke(_addr + ((ulong)i << PageConstants.PageShift), 1, 1);
        }
    }

    [Benchmark]
    public Signal Poke8()
    {
        _next = (_next + 97) & (Resident - 1);
        return _sys.Poke(_addr + ((ulong)_next << PageConstants.PageShift) + 64, 8, 7);
    }

    [Benchmark]
    public ulong Peek8()
    {
        _next = (_next + 97) & (Resident - 1);
        _sys.Peek(_addr + ((ulong)_next << PageConstants.PageShift) + 64, 8, out ulong hash);
        return hash;
    }
}
