using System.Globalization;
using CsCheck;
using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Tests.Harness;
using Xunit;
using static Mapwright.Tests.Harness.SyscallArgs;

namespace Mapwright.Tests.PropertyTests;

public sealed class RandomSyscallSequenceTests
{
    /// <summary>The small region the calls work in: 64 pages, with a little of the space around it.</summary>
    private const ulong Region = 0x10000000;

    private const uint RegionPages = 64;

    private const ulong HeapStart = Region + 0x80000;

    /// <summary>
    /// One call: a kind (0-99, weighted below), an address (a page of the region and a mode: 0 unaligned, 1 zero,
    /// 2 near TASK_SIZE), a length (pages and a mode: 0 zero, 1 unaligned bytes, 2 huge) and two selectors.
    /// </summary>
    private readonly record struct Call(int Kind, int Page, int AddrMode, int Pages, int LenMode, int X, int Y)
    {
        public uint A => (uint)((AddrMode << 8) | Page);

        public uint B => (uint)((LenMode << 8) | Pages);
    }

    private static readonly Gen<Call> s_call =
        Gen.Select(Gen.Int[0, 99], Gen.Int[0, (int)RegionPages + 7], Gen.Int[0, 40], Gen.Int[0, 15], Gen.Int[0, 40], Gen.Int[0, 4095], Gen.Int[0, 4095])
            .Select(t => new Call(t.Item1, t.Item2, t.Item3, t.Item4, t.Item5, t.Item6, t.Item7));

    private static readonly ulong[] s_advice =
    [
        0, 1, 2, 3, 4, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 102, 103, 100, 5, 9, 999,
    ];

    private static readonly Errno[] s_mmapErrors = [Errno.EINVAL, Errno.ENOMEM, Errno.EPERM, Errno.EEXIST, Errno.EAGAIN, Errno.EBADF];

    [Fact]
    [Trait("Linux", "mm/vma.c validate_mm() after every call; fs/proc/task_mmu.c maps format; mmap(2) and friends never leave overlapping VMAs")]
    public void RandomSyscallSequencesKeepTheAddressSpaceValid()
    {
        s_call.Array[20, 60].Sample(calls =>
        {
            using var fx = new AddressSpaceFixture();
            using (fx.Mm.MmapLock.Read())
            {
                fx.Mm.PrctlSetMmBrk(HeapStart, HeapStart);
            }

            var log = new List<string>();
            var sealedPages = new Dictionary<ulong, VmFlags>();
            try
            {
                foreach (Call call in calls)
                {
                    log.Add(Apply(fx, call, sealedPages));
                    CheckInvariants(fx.Mm, sealedPages);
                }
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException("after the calls:\n" + string.Join('\n', log) + "\nmaps:\n" + fx.Mm.FormatMaps(), ex);
            }
        }, iter: 3000);
    }

    private static ulong Addr(uint a)
    {
        // Mostly page-aligned addresses in or just around the region; sometimes unaligned, 0, or near TASK_SIZE.
        ulong page = a & 0xff;
        ulong addr = Region - (4 * Page) + ((page % (RegionPages + 8)) * Page);
        return (a >> 8) switch
        {
            0 => addr + 1 + ((page * 0x35) % 0xfff),
            1 => 0,
            2 => PageConstants.TaskSize - Page,
            _ => addr,
        };
    }

    private static ulong Len(uint b)
    {
        ulong pages = 1 + (b & 0xff);
        return (b >> 8) switch
        {
            0 => 0,
            1 => 1 + ((pages * 0x3a7) % 0x3000),
            2 => ulong.MaxValue - (pages % 3),
            _ => pages * Page,
        };
    }

    private static string Apply(AddressSpaceFixture fx, Call c, Dictionary<ulong, VmFlags> sealedPages)
    {
        var sys = fx.Sys;
        ulong addr = Addr(c.A);
        ulong len = Len(c.B);
        uint x = (uint)c.X;
        uint y = (uint)c.Y;
        ulong prot = x % 8;
        SysResult r;
        string text;
        switch (c.Kind)
        {
            case < 30:
                {
                    ulong flags = ((x >> 3) & 15) switch
                    {
                        0 => SharedAnon,
                        1 => (ulong)MapFlags.Anonymous,
                        2 => (ulong)(MapFlags.SharedValidate | MapFlags.Anonymous),
                        3 => (ulong)MapFlags.Private,
                        _ => PrivateAnon,
                    };
                    flags |= ((x >> 7) % 5) switch
                    {
                        0 => 0UL,
                        1 => FixedNoReplace,
                        _ => Fixed,
                    };
                    uint extra = y % 16;
                    flags |= extra switch
                    {
                        0 => Populate,
                        1 => Locked,
                        2 => (ulong)MapFlags.GrowsDown,
                        3 => (ulong)MapFlags.NoReserve,
                        4 => (ulong)MapFlags.Stack,
                        _ => 0UL,
                    };
                    if (((y >> 4) & 15) == 0)
                    {
                        prot |= 0x10;
                    }

                    ulong offset = ((y >> 8) & 15) == 0 ? 0x123UL : 0UL;
                    r = sys.Mmap(addr, len, prot, flags, NoFd, offset);
                    text = F($"mmap(0x{addr:x}, 0x{len:x}, 0x{prot:x}, 0x{flags:x}, -1, 0x{offset:x})");
                    if (r.IsError)
                    {
                        Assert.Contains(r.Errno, s_mmapErrors);
                    }
                    else
                    {
                        // The whole new range is mapped, page-aligned, with the requested address for MAP_FIXED.
                        Assert.True(PageConstants.IsPageAligned(r.Value), text);
                        if ((flags & (Fixed | FixedNoReplace)) != 0)
                        {
                            Assert.Equal(addr, r.Value);
                        }

                        AssertCovered(fx.Mm, r.Value, r.Value + PageConstants.PageAlign(len), text);
                    }

                    break;
                }

            case < 40:
                r = sys.Munmap(addr, len);
                text = F($"munmap(0x{addr:x}, 0x{len:x})");
                if (!r.IsError)
                {
                    Assert.Null(fx.Mm.Tree.FindIntersection(addr, addr + PageConstants.PageAlign(len)));
                }

                break;
            case < 50:
                {
                    ulong p = (y % 20) switch
                    {
                        0 => prot | (ulong)Prot.GrowsDown,
                        1 => prot | 0x10,
                        2 => prot | (ulong)Prot.GrowsUp,
                        _ => prot,
                    };
                    r = sys.Mprotect(addr, len, p);
                    text = F($"mprotect(0x{addr:x}, 0x{len:x}, 0x{p:x})");
                    if (!r.IsError && len != 0 && p == prot)
                    {
                        AssertCovered(fx.Mm, addr, addr + PageConstants.PageAlign(len), text);
                        VmFlags want = MmapOps.CalcVmProtBits((Prot)prot);
                        for (Vma? v = fx.Mm.FindVma(addr); v is not null && v.Start < addr + PageConstants.PageAlign(len); v = v.NextVma)
                        {
                            Assert.Equal(want, v.Flags & VmFlags.AccessFlags);
                        }
                    }

                    break;
                }

            case < 60:
                {
                    ulong flags = (x >> 3) % 8 switch
                    {
                        0 => 0,
                        1 or 2 => MayMove,
                        3 => MayMove | RemapFixed,
                        4 => MayMove | DontUnmap,
                        5 => MayMove | RemapFixed | DontUnmap,
                        6 => RemapFixed,
                        _ => 8,
                    };
                    ulong newLen = (y % 4 == 0) ? len : (1 + ((y >> 2) % 16)) * Page;
                    ulong newAddr = Region - (4 * Page) + (((y >> 6) % (RegionPages + 8)) * Page) + ((y & 0x30) == 0 ? 0x10UL : 0UL);
                    r = sys.Mremap(addr, len, newLen, flags, newAddr);
                    text = F($"mremap(0x{addr:x}, 0x{len:x}, 0x{newLen:x}, 0x{flags:x}, 0x{newAddr:x})");
                    // A move or a growth maps the whole new range; a shrink or a no-op in place need not (Linux
                    // returns addr for them without checking that [addr, addr + old_len) is mapped).
                    bool moved = (flags & (RemapFixed | DontUnmap)) != 0;
                    if (!r.IsError && (moved || r.Value != addr || PageConstants.PageAlign(newLen) > PageConstants.PageAlign(len)))
                    {
                        Assert.True(PageConstants.IsPageAligned(r.Value), text);
                        AssertCovered(fx.Mm, r.Value, r.Value + PageConstants.PageAlign(newLen), text, allowGaps: (flags & RemapFixed) != 0 && len == newLen);
                    }

                    break;
                }

            case < 70:
                {
                    ulong advice = s_advice[x % (uint)s_advice.Length];
                    r = sys.Madvise(addr, len, advice);
                    text = F($"madvise(0x{addr:x}, 0x{len:x}, {advice})");
                    break;
                }

            case < 74:
                r = sys.Mlock(addr, len);
                text = F($"mlock(0x{addr:x}, 0x{len:x})");
                break;
            case < 77:
                {
                    ulong flags = x % 5 == 0 ? 2UL : x % 2;
                    r = sys.Mlock2(addr, len, flags);
                    text = F($"mlock2(0x{addr:x}, 0x{len:x}, {flags})");
                    break;
                }

            case < 81:
                r = sys.Munlock(addr, len);
                text = F($"munlock(0x{addr:x}, 0x{len:x})");
                break;
            case < 83:
                {
                    ulong flags = x % 9;
                    if (flags == 8)
                    {
                        r = sys.Munlockall();
                        text = "munlockall()";
                    }
                    else
                    {
                        r = sys.Mlockall(flags);
                        text = F($"mlockall({flags})");
                    }

                    break;
                }

            case < 85:
                {
                    ulong flags = x % 10 == 0 ? 1UL : 0UL;
                    r = sys.Mseal(addr, len, flags);
                    text = F($"mseal(0x{addr:x}, 0x{len:x}, {flags})");
                    if (!r.IsError)
                    {
                        for (ulong a = addr; a < addr + PageConstants.PageAlign(len); a += Page)
                        {
                            Vma v = fx.Mm.LookupVma(a)!;
                            Assert.True((v.Flags & VmFlags.Sealed) != 0, text);
                            sealedPages[a >> PageConstants.PageShift] = v.Flags & VmFlags.AccessFlags;
                        }
                    }

                    break;
                }

            case < 90:
                {
                    ulong flags = x % 9;
                    r = sys.Msync(addr, len, flags);
                    text = F($"msync(0x{addr:x}, 0x{len:x}, {flags})");
                    break;
                }

            case < 95:
                {
                    var vec = new List<byte>();
                    bool valid = x % 10 != 0;
                    r = sys.Mincore(addr, len, valid, vec);
                    text = F($"mincore(0x{addr:x}, 0x{len:x}, {(valid ? "vec" : "bad")})");
                    if (!r.IsError)
                    {
                        ulong pages = (len >> PageConstants.PageShift) + ((len & (Page - 1)) != 0 ? 1UL : 0UL);
                        Assert.Equal(pages, (ulong)vec.Count);
                    }

                    break;
                }

            default:
                {
                    ulong brk = (x % 4) switch
                    {
                        0 => 0,
                        1 => HeapStart + (y % 0x30000),
                        _ => HeapStart + ((y % 48) * Page),
                    };
                    ulong before = fx.Mm.Brk;
                    r = sys.Brk(brk);
                    text = F($"brk(0x{brk:x})");
                    Assert.False(r.IsError, text);
                    Assert.True(r.Value == brk || r.Value == before, text);
                    Assert.Equal(r.Value, fx.Mm.Brk);
                    break;
                }
        }

        return text + " = " + r.Format(hex: true);
    }

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>[start, end) is entirely mapped (or, for a multi-VMA move, starts in a VMA).</summary>
    private static void AssertCovered(AddressSpace mm, ulong start, ulong end, string call, bool allowGaps = false)
    {
        ulong at = start;
        while (at < end)
        {
            Vma? v = mm.LookupVma(at);
            if (v is null && allowGaps)
            {
                // A multi-VMA move keeps the gaps between the source VMAs, and the source range may end in one.
                Assert.True(at != start, $"{call}: nothing mapped at 0x{at:x}");
                v = mm.FindVma(at);
                if (v is null || v.Start >= end)
                {
                    return;
                }

                at = v.Start;
                continue;
            }

            Assert.True(v is not null, $"{call}: 0x{at:x} is not mapped");
            at = v!.End;
        }
    }

    private static void CheckInvariants(AddressSpace mm, Dictionary<ulong, VmFlags> sealedPages)
    {
        mm.Validate();
        Vma? prev = null;
        int count = 0;
        int ptes = 0;
        foreach (Vma v in mm.Vmas)
        {
            for (ulong vpn = v.Start >> PageConstants.PageShift; vpn < v.End >> PageConstants.PageShift; vpn++)
            {
                ptes += mm.Pages.TryGet(vpn, out _) ? 1 : 0;
            }

            Assert.True(v.Start < v.End && PageConstants.IsPageAligned(v.Start) && PageConstants.IsPageAligned(v.End), v.ToString());
            Assert.True(prev is null || prev.End <= v.Start, $"{prev} overlaps {v}");
            prev = v;
            count++;
        }

        Assert.Equal(mm.MapCount, count);

        // No page-table entry outlives its VMA (munmap, mremap and MAP_FIXED zap what they remove).
        Assert.Equal(mm.Pages.Count, ptes);

        // mseal: a sealed page stays mapped, sealed, with the same protection, whatever else happens.
        foreach (var (vpn, access) in sealedPages)
        {
            Vma? v = mm.LookupVma(vpn << PageConstants.PageShift);
            Assert.True(v is not null, $"sealed page 0x{vpn << PageConstants.PageShift:x} was unmapped");
            Assert.True((v!.Flags & VmFlags.Sealed) != 0, $"page 0x{vpn << PageConstants.PageShift:x} lost VM_SEALED");
            Assert.Equal(access, v.Flags & VmFlags.AccessFlags);
        }

        string[] lines = mm.FormatMaps().Split('\n');
        Assert.Equal(string.Empty, lines[^1]);
        Assert.Equal(count, lines.Length - 1);
        for (int i = 0; i < lines.Length - 1; i++)
        {
            Assert.Null(MapsFormat.Check(lines[i]));
        }
    }
}
