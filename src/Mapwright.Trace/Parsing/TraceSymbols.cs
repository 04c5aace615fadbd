using System.Collections.Frozen;

namespace Mapwright.Trace.Parsing;

/// <summary>
/// The symbols a trace may use in flags expressions, with their x86-64 Linux values (the calls themselves
/// are rows of <see cref="Calls.SyscallTable"/>). Values are those of the uapi headers named on
/// each group (Linux 6.18); <c>O_*</c> values are octal in the headers and written in hex here.
/// </summary>
public static class TraceSymbols
{
    private static readonly FrozenDictionary<string, ulong> s_symbols = BuildSymbols();

    private static readonly FrozenDictionary<string, ulong>.AlternateLookup<ReadOnlySpan<char>> s_bySpan =
        s_symbols.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>Looks a symbol up by name (case-sensitive, as the headers spell it).</summary>
    public static bool TryGet(string name, out ulong value) => s_symbols.TryGetValue(name, out value);

    /// <summary>Looks a symbol up by name without allocating.</summary>
    public static bool TryGet(ReadOnlySpan<char> name, out ulong value) => s_bySpan.TryGetValue(name, out value);

    private static FrozenDictionary<string, ulong> BuildSymbols()
    {
        var s = new Dictionary<string, ulong>(StringComparer.Ordinal)
        {
            // include/uapi/asm-generic/mman-common.h
            ["PROT_NONE"] = 0x0,
            ["PROT_READ"] = 0x1,
            ["PROT_WRITE"] = 0x2,
            ["PROT_EXEC"] = 0x4,
            ["PROT_SEM"] = 0x8,
            ["PROT_GROWSDOWN"] = 0x01000000,
            ["PROT_GROWSUP"] = 0x02000000,

            // include/uapi/linux/mman.h (map types)
            ["MAP_SHARED"] = 0x01,
            ["MAP_PRIVATE"] = 0x02,
            ["MAP_SHARED_VALIDATE"] = 0x03,
            ["MAP_DROPPABLE"] = 0x08,

            // include/uapi/asm-generic/mman-common.h
            ["MAP_FILE"] = 0x0,
            ["MAP_FIXED"] = 0x10,
            ["MAP_ANONYMOUS"] = 0x20,
            ["MAP_POPULATE"] = 0x008000,
            ["MAP_NONBLOCK"] = 0x010000,
            ["MAP_STACK"] = 0x020000,
            ["MAP_HUGETLB"] = 0x040000,
            ["MAP_SYNC"] = 0x080000,
            ["MAP_FIXED_NOREPLACE"] = 0x100000,
            ["MAP_UNINITIALIZED"] = 0x4000000,

            // glibc bits/mman-linux.h: MAP_ANON is MAP_ANONYMOUS.
            ["MAP_ANON"] = 0x20,

            // arch/x86/include/uapi/asm/mman.h
            ["MAP_32BIT"] = 0x40,
            ["MAP_ABOVE4G"] = 0x80,

            // include/uapi/asm-generic/mman.h
            ["MAP_GROWSDOWN"] = 0x0100,
            ["MAP_DENYWRITE"] = 0x0800,
            ["MAP_EXECUTABLE"] = 0x1000,
            ["MAP_LOCKED"] = 0x2000,
            ["MAP_NORESERVE"] = 0x4000,

            // include/uapi/linux/mman.h and asm-generic/hugetlb_encode.h: size log2 << 26.
            // strace prints other sizes as "N<<MAP_HUGE_SHIFT".
            ["MAP_HUGE_SHIFT"] = 26,
            ["MAP_HUGE_16KB"] = 14UL << 26,
            ["MAP_HUGE_64KB"] = 16UL << 26,
            ["MAP_HUGE_512KB"] = 19UL << 26,
            ["MAP_HUGE_1MB"] = 20UL << 26,
            ["MAP_HUGE_2MB"] = 21UL << 26,
            ["MAP_HUGE_8MB"] = 23UL << 26,
            ["MAP_HUGE_16MB"] = 24UL << 26,
            ["MAP_HUGE_32MB"] = 25UL << 26,
            ["MAP_HUGE_256MB"] = 28UL << 26,
            ["MAP_HUGE_512MB"] = 29UL << 26,
            ["MAP_HUGE_1GB"] = 30UL << 26,
            ["MAP_HUGE_2GB"] = 31UL << 26,
            ["MAP_HUGE_16GB"] = 34UL << 26,

            // include/uapi/linux/mman.h
            ["MREMAP_MAYMOVE"] = 1,
            ["MREMAP_FIXED"] = 2,
            ["MREMAP_DONTUNMAP"] = 4,

            // include/uapi/asm-generic/mman-common.h
            ["MADV_NORMAL"] = 0,
            ["MADV_RANDOM"] = 1,
            ["MADV_SEQUENTIAL"] = 2,
            ["MADV_WILLNEED"] = 3,
            ["MADV_DONTNEED"] = 4,
            ["MADV_FREE"] = 8,
            ["MADV_REMOVE"] = 9,
            ["MADV_DONTFORK"] = 10,
            ["MADV_DOFORK"] = 11,
            ["MADV_MERGEABLE"] = 12,
            ["MADV_UNMERGEABLE"] = 13,
            ["MADV_HUGEPAGE"] = 14,
            ["MADV_NOHUGEPAGE"] = 15,
            ["MADV_DONTDUMP"] = 16,
            ["MADV_DODUMP"] = 17,
            ["MADV_WIPEONFORK"] = 18,
            ["MADV_KEEPONFORK"] = 19,
            ["MADV_COLD"] = 20,
            ["MADV_PAGEOUT"] = 21,
            ["MADV_POPULATE_READ"] = 22,
            ["MADV_POPULATE_WRITE"] = 23,
            ["MADV_DONTNEED_LOCKED"] = 24,
            ["MADV_COLLAPSE"] = 25,
            ["MADV_HWPOISON"] = 100,
            ["MADV_SOFT_OFFLINE"] = 101,
            ["MADV_GUARD_INSTALL"] = 102,
            ["MADV_GUARD_REMOVE"] = 103,

            // include/uapi/asm-generic/mman-common.h
            ["MS_ASYNC"] = 1,
            ["MS_INVALIDATE"] = 2,
            ["MS_SYNC"] = 4,
            ["MLOCK_ONFAULT"] = 0x01,

            // include/uapi/asm-generic/mman.h
            ["MCL_CURRENT"] = 1,
            ["MCL_FUTURE"] = 2,
            ["MCL_ONFAULT"] = 4,

            // include/uapi/asm-generic/fcntl.h (x86-64 does not override these); octal there.
            ["O_RDONLY"] = 0x0,             // 00000000
            ["O_WRONLY"] = 0x1,             // 00000001
            ["O_RDWR"] = 0x2,               // 00000002
            ["O_CREAT"] = 0x40,             // 00000100
            ["O_EXCL"] = 0x80,              // 00000200
            ["O_NOCTTY"] = 0x100,           // 00000400
            ["O_TRUNC"] = 0x200,            // 00001000
            ["O_APPEND"] = 0x400,           // 00002000
            ["O_NONBLOCK"] = 0x800,         // 00004000
            ["O_NDELAY"] = 0x800,           // O_NONBLOCK
            ["O_DSYNC"] = 0x1000,           // 00010000
            ["O_ASYNC"] = 0x2000,           // FASYNC 00020000
            ["O_DIRECT"] = 0x4000,          // 00040000
            ["O_LARGEFILE"] = 0x8000,       // 00100000
            ["O_DIRECTORY"] = 0x10000,      // 00200000
            ["O_NOFOLLOW"] = 0x20000,       // 00400000
            ["O_NOATIME"] = 0x40000,        // 01000000
            ["O_CLOEXEC"] = 0x80000,        // 02000000
            ["O_SYNC"] = 0x101000,          // __O_SYNC 04000000 | O_DSYNC
            ["O_PATH"] = 0x200000,          // 010000000
            ["O_TMPFILE"] = 0x410000,       // __O_TMPFILE 020000000 | O_DIRECTORY

            // include/uapi/linux/fcntl.h
            ["AT_FDCWD"] = unchecked((ulong)-100),
            ["AT_SYMLINK_NOFOLLOW"] = 0x100,
            ["AT_REMOVEDIR"] = 0x200,
            ["AT_SYMLINK_FOLLOW"] = 0x400,
            ["AT_EMPTY_PATH"] = 0x1000,
            ["F_SEAL_SEAL"] = 0x0001,
            ["F_SEAL_SHRINK"] = 0x0002,
            ["F_SEAL_GROW"] = 0x0004,
            ["F_SEAL_WRITE"] = 0x0008,
            ["F_SEAL_FUTURE_WRITE"] = 0x0010,
            ["F_SEAL_EXEC"] = 0x0020,

            // include/uapi/linux/stat.h: file types of a mode (mknod); octal there.
            ["S_IFSOCK"] = 0xc000,          // 0140000
            ["S_IFLNK"] = 0xa000,           // 0120000
            ["S_IFREG"] = 0x8000,           // 0100000
            ["S_IFBLK"] = 0x6000,           // 0060000
            ["S_IFDIR"] = 0x4000,           // 0040000
            ["S_IFCHR"] = 0x2000,           // 0020000
            ["S_IFIFO"] = 0x1000,           // 0010000

            // include/uapi/linux/fcntl.h (renameat2)
            ["RENAME_NOREPLACE"] = 0x1,
            ["RENAME_EXCHANGE"] = 0x2,
            ["RENAME_WHITEOUT"] = 0x4,

            // include/uapi/linux/close_range.h
            ["CLOSE_RANGE_UNSHARE"] = 0x2,
            ["CLOSE_RANGE_CLOEXEC"] = 0x4,

            // include/uapi/linux/memfd.h; strace prints other sizes as "N<<MFD_HUGE_SHIFT".
            ["MFD_CLOEXEC"] = 0x0001,
            ["MFD_ALLOW_SEALING"] = 0x0002,
            ["MFD_HUGETLB"] = 0x0004,
            ["MFD_NOEXEC_SEAL"] = 0x0008,
            ["MFD_EXEC"] = 0x0010,
            ["MFD_HUGE_SHIFT"] = 26,
            ["MFD_HUGE_64KB"] = 16UL << 26,
            ["MFD_HUGE_512KB"] = 19UL << 26,
            ["MFD_HUGE_1MB"] = 20UL << 26,
            ["MFD_HUGE_2MB"] = 21UL << 26,
            ["MFD_HUGE_8MB"] = 23UL << 26,
            ["MFD_HUGE_16MB"] = 24UL << 26,
            ["MFD_HUGE_32MB"] = 25UL << 26,
            ["MFD_HUGE_256MB"] = 28UL << 26,
            ["MFD_HUGE_512MB"] = 29UL << 26,
            ["MFD_HUGE_1GB"] = 30UL << 26,
            ["MFD_HUGE_2GB"] = 31UL << 26,
            ["MFD_HUGE_16GB"] = 34UL << 26,
        };
        return s.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
