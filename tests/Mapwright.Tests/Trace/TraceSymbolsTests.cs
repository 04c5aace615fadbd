using System.Globalization;
using Mapwright.Trace.Calls;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>Symbol values against the x86-64 uapi headers of Linux 6.18 (octal where the header
/// writes octal, so the check does not share the table's hex spelling).</summary>
public sealed class TraceSymbolsTests
{
    private static ulong Octal(string digits) => Convert.ToUInt64(digits, 8);

    public static TheoryData<string, ulong> UapiValues() => new()
    {
        // include/uapi/asm-generic/mman-common.h
        { "PROT_NONE", 0x0 }, { "PROT_READ", 0x1 }, { "PROT_WRITE", 0x2 }, { "PROT_EXEC", 0x4 },
        { "PROT_SEM", 0x8 }, { "PROT_GROWSDOWN", 0x01000000 }, { "PROT_GROWSUP", 0x02000000 },
        { "MAP_FIXED", 0x10 }, { "MAP_ANONYMOUS", 0x20 }, { "MAP_POPULATE", 0x008000 },
        { "MAP_NONBLOCK", 0x010000 }, { "MAP_STACK", 0x020000 }, { "MAP_HUGETLB", 0x040000 },
        { "MAP_SYNC", 0x080000 }, { "MAP_FIXED_NOREPLACE", 0x100000 }, { "MAP_UNINITIALIZED", 0x4000000 },
        { "MLOCK_ONFAULT", 0x01 }, { "MS_ASYNC", 1 }, { "MS_INVALIDATE", 2 }, { "MS_SYNC", 4 },
        { "MADV_NORMAL", 0 }, { "MADV_RANDOM", 1 }, { "MADV_SEQUENTIAL", 2 }, { "MADV_WILLNEED", 3 },
        { "MADV_DONTNEED", 4 }, { "MADV_FREE", 8 }, { "MADV_REMOVE", 9 }, { "MADV_DONTFORK", 10 },
        { "MADV_DOFORK", 11 }, { "MADV_MERGEABLE", 12 }, { "MADV_UNMERGEABLE", 13 }, { "MADV_HUGEPAGE", 14 },
        { "MADV_NOHUGEPAGE", 15 }, { "MADV_DONTDUMP", 16 }, { "MADV_DODUMP", 17 }, { "MADV_WIPEONFORK", 18 },
        { "MADV_KEEPONFORK", 19 }, { "MADV_COLD", 20 }, { "MADV_PAGEOUT", 21 }, { "MADV_POPULATE_READ", 22 },
        { "MADV_POPULATE_WRITE", 23 }, { "MADV_DONTNEED_LOCKED", 24 }, { "MADV_COLLAPSE", 25 },
        { "MADV_HWPOISON", 100 }, { "MADV_SOFT_OFFLINE", 101 }, { "MADV_GUARD_INSTALL", 102 }, { "MADV_GUARD_REMOVE", 103 },

        // include/uapi/linux/mman.h
        { "MAP_SHARED", 0x01 }, { "MAP_PRIVATE", 0x02 }, { "MAP_SHARED_VALIDATE", 0x03 }, { "MAP_DROPPABLE", 0x08 },
        { "MREMAP_MAYMOVE", 1 }, { "MREMAP_FIXED", 2 }, { "MREMAP_DONTUNMAP", 4 },

        // include/uapi/linux/mman.h + include/uapi/asm-generic/hugetlb_encode.h (HUGETLB_FLAG_ENCODE_SHIFT 26)
        { "MAP_HUGE_SHIFT", 26 }, { "MAP_HUGE_2MB", 21UL << 26 }, { "MAP_HUGE_1GB", 30UL << 26 },

        // arch/x86/include/uapi/asm/mman.h
        { "MAP_32BIT", 0x40 }, { "MAP_ABOVE4G", 0x80 },

        // include/uapi/asm-generic/mman.h
        { "MAP_GROWSDOWN", 0x0100 }, { "MAP_DENYWRITE", 0x0800 }, { "MAP_EXECUTABLE", 0x1000 },
        { "MAP_LOCKED", 0x2000 }, { "MAP_NORESERVE", 0x4000 },
        { "MCL_CURRENT", 1 }, { "MCL_FUTURE", 2 }, { "MCL_ONFAULT", 4 },

        // glibc bits/mman-linux.h: MAP_ANON = MAP_ANONYMOUS
        { "MAP_ANON", 0x20 },

        // include/uapi/asm-generic/fcntl.h (octal)
        { "O_RDONLY", Octal("00000000") }, { "O_WRONLY", Octal("00000001") }, { "O_RDWR", Octal("00000002") },
        { "O_CREAT", Octal("00000100") }, { "O_EXCL", Octal("00000200") }, { "O_NOCTTY", Octal("00000400") },
        { "O_TRUNC", Octal("00001000") }, { "O_APPEND", Octal("00002000") }, { "O_NONBLOCK", Octal("00004000") },
        { "O_DSYNC", Octal("00010000") }, { "O_DIRECT", Octal("00040000") }, { "O_LARGEFILE", Octal("00100000") },
        { "O_DIRECTORY", Octal("00200000") }, { "O_NOFOLLOW", Octal("00400000") }, { "O_NOATIME", Octal("01000000") },
        { "O_CLOEXEC", Octal("02000000") }, { "O_SYNC", Octal("04000000") | Octal("00010000") },
        { "O_PATH", Octal("010000000") }, { "O_TMPFILE", Octal("020000000") | Octal("00200000") },

        // include/uapi/linux/fcntl.h
        { "AT_FDCWD", unchecked((ulong)-100) },
        { "F_SEAL_SEAL", 0x0001 }, { "F_SEAL_SHRINK", 0x0002 }, { "F_SEAL_GROW", 0x0004 },
        { "F_SEAL_WRITE", 0x0008 }, { "F_SEAL_FUTURE_WRITE", 0x0010 }, { "F_SEAL_EXEC", 0x0020 },

        // include/uapi/linux/memfd.h
        { "MFD_CLOEXEC", 0x0001 }, { "MFD_ALLOW_SEALING", 0x0002 }, { "MFD_HUGETLB", 0x0004 },
        { "MFD_NOEXEC_SEAL", 0x0008 }, { "MFD_EXEC", 0x0010 },
    };

    [Theory]
    [Trait("Rule", "trace-format.md: ARG forms (symbolic flags, x86-64 uapi values)")]
    [MemberData(nameof(UapiValues))]
    public void SymbolsHaveTheirX8664UapiValues(string name, ulong expected)
    {
        Assert.True(TraceSymbols.TryGet(name, out ulong value), name);
        Assert.Equal(expected, value);
    }

    [Theory]
    [Trait("Rule", "trace-format.md: ARG forms (unknown symbolic flags are an error)")]
    [InlineData("MAP_PRIVTE")]
    [InlineData("map_private")]
    [InlineData("")]
    [InlineData("SIGSEGV")]
    public void UnknownSymbolsAreNotFound(string name)
    {
        Assert.False(TraceSymbols.TryGet(name, out _));
    }

    [Theory]
    [Trait("Rule", "trace-format.md: Calls")]
    [InlineData("mmap", 6, 6)]
    [InlineData("munmap", 2, 2)]
    [InlineData("mprotect", 3, 3)]
    [InlineData("mremap", 4, 5)]
    [InlineData("madvise", 3, 3)]
    [InlineData("msync", 3, 3)]
    [InlineData("mlock", 2, 2)]
    [InlineData("mlock2", 3, 3)]
    [InlineData("munlock", 2, 2)]
    [InlineData("mlockall", 1, 1)]
    [InlineData("munlockall", 0, 0)]
    [InlineData("mincore", 3, 3)]
    [InlineData("brk", 1, 1)]
    [InlineData("mseal", 3, 3)]
    [InlineData("openat", 3, 4)]
    [InlineData("open", 2, 3)]
    [InlineData("close", 1, 1)]
    [InlineData("memfd_create", 2, 2)]
    [InlineData("ftruncate", 2, 2)]
    [InlineData("fork", 0, 0)]
    [InlineData("peek", 2, 2)]
    [InlineData("poke", 3, 3)]
    [InlineData("fpeek", 3, 3)]
    [InlineData("maps", 0, 0)]
    [InlineData("failpoint", 2, 2)]
    public void KnownCallsHaveTheirArity(string name, int min, int max)
    {
        Assert.True(SyscallTable.TryGet(name, out SyscallRow row));
        Assert.True(row.IsModelled);
        Assert.Equal(min, row.MinArgs);
        Assert.Equal(max, row.MaxArgs);

        // The parser enforces the row: one argument too few or too many is a malformed line.
        string Call(int n) => name + "(" + string.Join(", ", Enumerable.Repeat(name is "failpoint" or "open" or "memfd_create" ? "\"x\"" : "1", n)) + ")";
        if (min > 0)
        {
            Assert.NotEmpty(TraceParser.Parse(Call(min - 1), "t").Errors);
        }

        Assert.NotEmpty(TraceParser.Parse(Call(max + 1), "t").Errors);
    }

    [Theory]
    [Trait("Rule", "trace-format.md: Calls (others are skipped)")]
    [InlineData("read")]
    [InlineData("fstat")]
    [InlineData("newfstatat")]
    [InlineData("pread64")]
    [InlineData("rt_sigaction")]
    [InlineData("wait4")]
    [InlineData("MMAP")]
    public void OtherCallsAreUnknown(string name)
    {
        Assert.False(SyscallTable.TryGet(name, out _));
        if (!name.Any(char.IsAsciiLetterUpper))
        {
            // Read loosely: any argument, an unknown symbol, no error.
            Assert.Empty(TraceParser.Parse(name + "(1, [2], {3}, BOGUS_SYMBOL) = 0", "t").Errors);
        }
    }
}
