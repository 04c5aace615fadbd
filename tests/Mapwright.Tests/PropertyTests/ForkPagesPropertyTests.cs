using CsCheck;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.Mm;
using Mapwright.Syscalls;
using Xunit;

namespace Mapwright.Tests.PropertyTests;

/// <summary>
/// Random operations on a few processes of one machine (fork, exit, mappings, accesses, madvise, mremap,
/// truncation): the whole-machine page check holds after every call, and when every process has exited no
/// frame is left.
/// </summary>
public sealed class ForkPagesPropertyTests
{
    private const ulong Base = 0x200000000;
    private const ulong Page = 4096;

    static ForkPagesPropertyTests()
    {
        MmDebug.CheckInvariants = true;
    }

    private static readonly ulong[] s_advice =
    [
        (ulong)Madvise.DontNeed, (ulong)Madvise.Free, (ulong)Madvise.DontFork, (ulong)Madvise.DoFork,
        (ulong)Madvise.WipeOnFork, (ulong)Madvise.KeepOnFork, (ulong)Madvise.Cold, (ulong)Madvise.PageOut,
        (ulong)Madvise.Remove, (ulong)Madvise.PopulateRead, (ulong)Madvise.PopulateWrite, (ulong)Madvise.GuardInstall,
        (ulong)Madvise.GuardRemove,
    ];

    [Fact]
    [Trait("Linux", "folio_mapcount()/folio_ref_count(): every mapping of a page is counted once, in every process, and exit frees them")]
    public void PageCountsHoldAcrossForksAndExits()
    {
        Gen.Select(Gen.Int[0, 12], Gen.Int[0, 2], Gen.Int[0, 31], Gen.Int[1, 6], Gen.Int[0, 255]).Array[10, 120].Sample(ops =>
        {
            var procs = new List<MmSyscalls> { new Machine().NewProcess(new MmConfig()) };
            MmSyscalls first = procs[0];
            ulong fd = first.MemfdCreate("p", 0).Value;
            first.Ftruncate(fd, 24 * Page);
            foreach ((int op, int who, int page, int pages, int value) in ops)
            {
                MmSyscalls p = procs[who % procs.Count];
                ulong a = Base + ((ulong)page * Page);
                ulong len = (ulong)pages * Page;
                switch (op)
                {
                    case 0:
                        p.Mmap(a, len, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Private | MapFlags.Anonymous | MapFlags.Fixed), ulong.MaxValue, 0);
                        break;
                    case 1:
                        p.Mmap(a, len, (ulong)(Prot.Read | Prot.Write), (ulong)((value & 1) == 0 ? MapFlags.Shared : MapFlags.Private) | (ulong)MapFlags.Fixed, fd, (ulong)(value % 8) * Page);
                        break;
                    case 2:
                        p.Poke(a + (ulong)value, len, (byte)value);
                        break;
                    case 3:
                        p.Peek(a, len, out _);
                        break;
                    case 4:
                        p.Munmap(a, len);
                        break;
                    case 5:
                        p.Madvise(a, len, s_advice[value % s_advice.Length]);
                        break;
                    case 6:
                        if (procs.Count < 4 && !p.Fork(out MmSyscalls? child).IsError)
                        {
                            procs.Add(child!);
                        }

                        break;
                    case 7:
                        if (procs.Count > 1 && p != first)
                        {
                            p.Exit();
                            procs.Remove(p);
                        }

                        break;
                    case 8:
                        p.Mremap(a, len, (ulong)((value % 6) + 1) * Page, (ulong)MremapFlags.MayMove, 0);
                        break;
                    case 9:
                        first.Ftruncate(fd, (ulong)(value % 24) * Page);
                        break;
                    case 10:
                        p.Mprotect(a, len, (ulong)(value % 2 == 0 ? Prot.Read : Prot.Read | Prot.Write));
                        break;
                    case 11:
                        p.Mlock(a, len);
                        break;
                    default:
                        p.Mmap(a, len, (ulong)(Prot.Read | Prot.Write), (ulong)(MapFlags.Shared | MapFlags.Anonymous | MapFlags.Fixed), ulong.MaxValue, 0);
                        break;
                }
            }

            PhysicalMemoryCheck(procs, first, fd);
        }, iter: 200);
    }

    private static void PhysicalMemoryCheck(List<MmSyscalls> procs, MmSyscalls first, ulong fd)
    {
        MemoryManager manager = first.Mm.Manager;
        manager.ValidateFrames();
        Mapwright.Contract.MappedFile memfd = first.Files.Get(fd)!;
        foreach (MmSyscalls p in procs.ToArray())
        {
            p.Exit();
        }

        // Every process has exited: no mapping and no descriptor refers to the memfd or to the shared anonymous
        // objects any more, so their pages are freed too (fput() → shmem_evict_inode()).
        Assert.Empty(manager.AddressSpaces);
        manager.ValidateFrames();
        Assert.Equal(0, memfd.PageCache.Count);
        Assert.Equal(0, manager.Memory.FramesInUse);
    }
}
