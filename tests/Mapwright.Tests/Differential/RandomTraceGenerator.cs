using System.Globalization;
using System.Text;

namespace Mapwright.Tests.Differential;

/// <summary>
/// Random anonymous-memory traces concentrated in a small region just below the helper's [vvar], so that
/// VMAs merge and split a lot; about 15% of the calls carry a bad argument. Every range stays clear of the
/// oracle's own memory. The text is ordinary trace language, so a failing trace replays with the CLI.
/// </summary>
internal sealed class RandomTraceGenerator
{
    private const ulong Page = 4096;
    private readonly Random _rng;
    private readonly ulong _top;
    private readonly ulong _base;
    private readonly ulong _brkStart;
    private ulong _brk;

    public RandomTraceGenerator(int seed, ulong regionTop, ulong brkStart, int regionPages = 96)
    {
        _rng = new Random(seed);
        _top = regionTop;
        _base = regionTop - ((ulong)regionPages * Page);
        _brkStart = brkStart;
        _brk = brkStart;
    }

    private static readonly string[] s_prots = ["PROT_READ|PROT_WRITE", "PROT_READ", "PROT_NONE", "PROT_READ|PROT_WRITE", "PROT_WRITE", "PROT_READ|PROT_EXEC"];

    private static readonly string[] s_advice =
    [
        "MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED", "MADV_DONTNEED", "MADV_FREE", "MADV_REMOVE",
        "MADV_DONTFORK", "MADV_DOFORK", "MADV_MERGEABLE", "MADV_UNMERGEABLE", "MADV_HUGEPAGE", "MADV_NOHUGEPAGE",
        "MADV_DONTDUMP", "MADV_DODUMP", "MADV_WIPEONFORK", "MADV_KEEPONFORK", "MADV_COLD", "MADV_PAGEOUT",
        "MADV_POPULATE_READ", "MADV_POPULATE_WRITE", "MADV_DONTNEED_LOCKED", "MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE",
    ];

    private bool _memfd;

    /// <summary>Live processes by trace PID; 1 is the first process (its lines carry no prefix).</summary>
    private readonly List<int> _pids = [1];
    private int _nextPid = 2;

    public string Generate(int calls)
    {
        var sb = new StringBuilder();
        if (_rng.Next(2) == 0)
        {
            // Half of the traces also map a memfd (fd 3) and resize it now and then.
            _memfd = true;
            sb.Append("memfd_create(\"rnd\", MFD_ALLOW_SEALING)\n");
            sb.Append("ftruncate(3, ").Append((ulong)_rng.Next(1, 24) * Page).Append(")\n");
        }

        // Four traces in ten fork: the calls after a fork run in any live process (strace -f's PID prefix),
        // children fork again or exit now and then (at most 15 forks: the oracle's limit).
        bool forking = _rng.Next(10) < 4;
        int forks = 0;
        for (int i = 0; i < calls; i++)
        {
            int pid = _pids[_rng.Next(_pids.Count)];
            string prefix = pid == 1 ? string.Empty : pid.ToString(CultureInfo.InvariantCulture) + " ";
            if (forking && forks < 15 && _rng.Next(100) < (forks == 0 ? 8 : 3))
            {
                int child = _nextPid++;
                forks++;
                _pids.Add(child);
                sb.Append(prefix).Append("fork() = ").Append(child).Append('\n');
                continue;
            }

            if (pid != 1 && _rng.Next(100) < 3)
            {
                _pids.Remove(pid);
                sb.Append(prefix).Append("exit_group(0) = ?\n");
                continue;
            }

            sb.Append(prefix).Append(NextCall()).Append('\n');
            if (_rng.Next(12) == 0)
            {
                sb.Append(prefix).Append(_rng.Next(2) == 0 ? "maps()\n" : "smaps()\n");
            }
        }

        foreach (int pid in _pids)
        {
            string prefix = pid == 1 ? string.Empty : pid.ToString(CultureInfo.InvariantCulture) + " ";
            sb.Append(prefix).Append("smaps()\n");
        }

        sb.Append("maps()\n");
        return sb.ToString();
    }

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private bool Bad() => _rng.Next(100) < 15;

    /// <summary>A page-aligned address in the region (or, when bad, an unaligned one).</summary>
    private ulong Addr(bool bad) => _base + ((ulong)_rng.Next(0, (int)((_top - _base) / Page)) * Page) + (bad ? (ulong)_rng.Next(1, 4096) : 0);

    /// <summary>A length that keeps [addr, addr + len) below the region top.</summary>
    private ulong Len(ulong addr, int maxPages = 8)
    {
        ulong room = (_top - (addr & ~(Page - 1))) / Page;
        ulong pages = (ulong)_rng.Next(1, maxPages + 1);
        if (pages > room)
        {
            pages = room;
        }

        ulong len = pages * Page;
        if (_rng.Next(6) == 0 && len > Page)
        {
            len -= (ulong)_rng.Next(1, 4095);
        }

        return len;
    }

    private string BadLen() => _rng.Next(3) switch
    {
        0 => "0",
        1 => "0xfffffffffffff000",
        _ => "0xffffffffffffffff",
    };

    private string NextCall()
    {
        if (_rng.Next(100) < 6)
        {
            return Unusual();
        }

        if (_memfd && _rng.Next(100) < 15)
        {
            return MemfdCall();
        }

        if (_rng.Next(100) < 12)
        {
            // Accesses: byte loops that stop at the first fault, as the process would.
            ulong a = Addr(false) + (ulong)_rng.Next(0, 4096);
            ulong n = (ulong)_rng.Next(1, 3 * 4096);
            if (a + n > _top)
            {
                n = _top - a;
            }

            return _rng.Next(3) switch
            {
                0 => $"poke({Hex(a)}, {n}, {_rng.Next(256)})",
                1 when _memfd => $"fpeek(3, {(ulong)_rng.Next(0, 30000)}, {(ulong)_rng.Next(0, 20000)})",
                _ => $"peek({Hex(a)}, {n})",
            };
        }

        int pick = _rng.Next(100);
        bool bad = Bad();
        if (pick < 14)
        {
            return MmapHintless(bad);
        }

        if (pick < 30)
        {
            return MmapAt(bad);
        }

        if (pick < 42)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            return $"munmap({Hex(a)}, {(bad && (a & 0xfff) == 0 ? BadLen() : Len(a).ToString(CultureInfo.InvariantCulture))})";
        }

        if (pick < 58)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            string prot = bad && (a & 0xfff) == 0 ? (_rng.Next(2) == 0 ? "0x10" : "PROT_GROWSDOWN|PROT_READ") : s_prots[_rng.Next(s_prots.Length)];
            return $"mprotect({Hex(a)}, {Len(a)}, {prot})";
        }

        if (pick < 66)
        {
            return Mremap(bad);
        }

        if (pick < 74)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            string advice = bad && (a & 0xfff) == 0 ? "77" : s_advice[_rng.Next(s_advice.Length)];
            return $"madvise({Hex(a)}, {Len(a)}, {advice})";
        }

        if (pick < 81)
        {
            ulong a = Addr(false) + (bad ? 0 : (ulong)_rng.Next(0, 2) * 17);
            return _rng.Next(4) switch
            {
                0 => $"munlock({Hex(a)}, {Len(a)})",
                1 => $"mlock2({Hex(a)}, {Len(a)}, {(bad ? "0x4" : _rng.Next(2) == 0 ? "MLOCK_ONFAULT" : "0")})",
                _ => $"mlock({Hex(a)}, {(bad ? "0xfffffffffffff000" : Len(a).ToString(CultureInfo.InvariantCulture))})",
            };
        }

        if (pick < 83)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            return $"mseal({Hex(a)}, {Len(a, 2)}, {(bad && (a & 0xfff) == 0 ? "1" : "0")})";
        }

        if (pick < 87)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            string flags = bad && (a & 0xfff) == 0 ? "MS_ASYNC|MS_SYNC" : new[] { "MS_ASYNC", "MS_SYNC", "MS_INVALIDATE", "MS_SYNC|MS_INVALIDATE" }[_rng.Next(4)];
            return $"msync({Hex(a)}, {Len(a)}, {flags})";
        }

        if (pick < 92)
        {
            ulong a = Addr(bad && _rng.Next(2) == 0);
            return $"mincore({Hex(a)}, {Len(a, 12)}, [])";
        }

        if (pick < 97)
        {
            return Brk(bad);
        }

        if (pick < 99)
        {
            return _rng.Next(3) switch
            {
                0 => "munlockall()",
                1 => bad ? "mlockall(MCL_ONFAULT)" : "mlockall(MCL_FUTURE)",
                _ => "mlockall(MCL_CURRENT)",
            };
        }

        return "munlockall()";
    }

    /// <summary>Rarer shapes: far hints, MAP_32BIT, huge lengths (overcommit), grows-down stacks, sealing
    /// and locking of whole ranges, duplicates of shared mappings, droppable and hugetlb mappings.</summary>
    private string Unusual()
    {
        ulong a = Addr(false);
        return _rng.Next(16) switch
        {
            0 => $"mmap({Hex(0x500000000UL + ((ulong)_rng.Next(0, 16) * Page))}, {(ulong)_rng.Next(1, 4) * Page}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
            1 => $"mmap(NULL, {(ulong)_rng.Next(1, 4) * Page}, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_32BIT, -1, 0)",
            2 => $"mmap(NULL, 0x{(1UL << _rng.Next(36, 46)):x}, {(_rng.Next(2) == 0 ? "PROT_READ|PROT_WRITE" : "PROT_READ")}, MAP_PRIVATE|MAP_ANONYMOUS{(_rng.Next(3) == 0 ? "|MAP_NORESERVE" : string.Empty)}, -1, 0)",
            3 => $"mmap({Hex(a)}, {Len(a, 4)}, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN|MAP_FIXED, -1, 0)",
            4 => $"mprotect({Hex(a)}, {Len(a, 2)}, PROT_READ|PROT_GROWSDOWN)",
            5 => $"mseal({Hex(a)}, {Len(a, 16)}, 0)",
            6 => $"mlockall({(_rng.Next(2) == 0 ? "MCL_CURRENT|MCL_ONFAULT" : "MCL_FUTURE|MCL_ONFAULT")})",
            7 => $"mremap({Hex(a)}, 0, {(ulong)_rng.Next(1, 4) * Page}, MREMAP_MAYMOVE)",
            8 => $"mmap(NULL, {(ulong)_rng.Next(1, 4) * Page}, PROT_READ|PROT_WRITE, MAP_DROPPABLE|MAP_ANONYMOUS, -1, 0)",
            9 => $"mmap(NULL, 2097152, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB, -1, 0)",
            10 => $"munmap({Hex(_base - (64UL << 20))}, {(64UL << 20) + ((ulong)_rng.Next(0, 8) * Page)})",
            11 => $"madvise({Hex(_base - (16UL << 20))}, {(16UL << 20) + ((ulong)_rng.Next(0, 16) * Page)}, {s_advice[_rng.Next(s_advice.Length)]})",
            12 => $"mprotect({Hex(a)}, {Len(a, 32)}, PROT_READ|PROT_WRITE|PROT_EXEC|PROT_SEM)",
            13 => $"mmap({Hex(a)}, {Len(a, 24)}, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE, -1, 0)",
            14 => $"brk({Hex(_brkStart + ((ulong)_rng.Next(0, 4096) * Page))})",
            _ => $"mremap({Hex(a)}, {Len(a, 8)}, {(ulong)_rng.Next(1, 64) * Page}, MREMAP_MAYMOVE)",
        };
    }

    /// <summary>Mappings of the memfd (shared and private, at page offsets, hinted or fixed), and resizes.</summary>
    private string MemfdCall()
    {
        ulong a = Addr(false);
        ulong off = (ulong)_rng.Next(0, 16) * Page;
        string prot = s_prots[_rng.Next(s_prots.Length)];
        string type = _rng.Next(3) == 0 ? "MAP_PRIVATE" : "MAP_SHARED";
        return _rng.Next(6) switch
        {
            0 => $"ftruncate(3, {(ulong)_rng.Next(0, 24) * Page})",
            1 => $"mmap(NULL, {(ulong)_rng.Next(1, 5) * Page}, {prot}, {type}, 3, {Hex(off)})",
            2 => $"madvise({Hex(a)}, {Len(a)}, MADV_REMOVE)",
            _ => $"mmap({Hex(a)}, {Len(a, 4)}, {prot}, {type}|MAP_FIXED{(_rng.Next(4) == 0 ? "|MAP_POPULATE" : string.Empty)}, 3, {Hex(off)})",
        };
    }

    private string MmapHintless(bool bad)
    {
        string prot = s_prots[_rng.Next(s_prots.Length)];
        string type = _rng.Next(8) == 0 ? "MAP_SHARED" : "MAP_PRIVATE";
        string extra = _rng.Next(10) switch
        {
            0 => "|MAP_POPULATE",
            1 => "|MAP_NORESERVE",
            2 => "|MAP_STACK",
            3 => "|MAP_LOCKED",
            4 => "|MAP_GROWSDOWN",
            _ => string.Empty,
        };
        string len = _rng.Next(10) == 0 ? "2097152" : ((ulong)_rng.Next(1, 5) * Page).ToString(CultureInfo.InvariantCulture);
        if (bad)
        {
            switch (_rng.Next(4))
            {
                case 0:
                    len = "0";
                    break;
                case 1:
                    type = "MAP_SHARED_VALIDATE";
                    break;
                case 2:
                    return $"mmap(NULL, 4096, {prot}, MAP_ANONYMOUS, -1, 0)";
                default:
                    return $"mmap(NULL, 4096, {prot}, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x123)";
            }
        }

        return $"mmap(NULL, {len}, {prot}, {type}|MAP_ANONYMOUS{extra}, -1, 0)";
    }

    private string MmapAt(bool bad)
    {
        ulong a = Addr(false);
        ulong len = Len(a);
        string prot = s_prots[_rng.Next(s_prots.Length)];
        string type = _rng.Next(8) == 0 ? "MAP_SHARED" : "MAP_PRIVATE";
        string how = _rng.Next(10) switch
        {
            0 or 1 => "|MAP_FIXED_NOREPLACE",
            2 => string.Empty,
            _ => "|MAP_FIXED",
        };
        if (how.Length == 0 && len > Page)
        {
            // A hint may be placed elsewhere; keep it small so it lands in a free gap of the region.
            len = Page;
        }

        if (bad)
        {
            return _rng.Next(3) switch
            {
                0 => $"mmap({Hex(a + 0x10)}, {len}, {prot}, {type}|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
                1 => $"mmap(0, 4096, {prot}, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)",
                _ => $"mmap({Hex(a)}, {len}, {prot}, MAP_SHARED|MAP_ANONYMOUS|MAP_GROWSDOWN|MAP_FIXED, -1, 0)",
            };
        }

        return $"mmap({Hex(a)}, {len}, {prot}, {type}|MAP_ANONYMOUS{how}, -1, 0)";
    }

    private string Mremap(bool bad)
    {
        ulong a = Addr(bad && _rng.Next(3) == 0);
        ulong oldLen = Len(a, 4);
        ulong newLen = (ulong)_rng.Next(1, 8) * Page;
        switch (_rng.Next(5))
        {
            case 0:
                return $"mremap({Hex(a)}, {oldLen}, {newLen}, 0)";
            case 1:
            case 2:
                return $"mremap({Hex(a)}, {oldLen}, {newLen}, {(bad ? "0x8" : "MREMAP_MAYMOVE")})";
            default:
                {
                    ulong target = Addr(false);
                    ulong room = _top - target;
                    if (newLen > room)
                    {
                        newLen = room;
                    }

                    string flags = bad ? "MREMAP_FIXED" : _rng.Next(4) == 0 ? "MREMAP_MAYMOVE|MREMAP_DONTUNMAP" : "MREMAP_MAYMOVE|MREMAP_FIXED";
                    if (flags.Contains("DONTUNMAP", StringComparison.Ordinal))
                    {
                        newLen = PageAlign(oldLen);
                        if (newLen > room)
                        {
                            return $"mremap({Hex(a)}, {oldLen}, {oldLen}, 0)";
                        }
                    }

                    return $"mremap({Hex(a)}, {oldLen}, {newLen}, {flags}, {Hex(target)})";
                }
        }
    }

    private static ulong PageAlign(ulong v) => (v + Page - 1) & ~(Page - 1);

    private string Brk(bool bad)
    {
        // A break below the start is refused by the oracle (it would unmap the helper's bss); bad arguments
        // here are unaligned breaks instead.
        int delta = _rng.Next(-3, 6);
        ulong next = (ulong)Math.Max((long)_brkStart, (long)_brk + (delta * (long)Page) + (bad || _rng.Next(3) == 0 ? 100 : 0));
        _brk = next;
        return _rng.Next(6) == 0 ? "brk(NULL)" : $"brk({Hex(next)})";
    }
}
