using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// Reading and writing user memory as the process would, byte by byte from the lowest address up: a fault
/// stops the access there with SIGSEGV or SIGBUS, after every earlier byte was read or written.
/// Linux: arch/x86/mm/fault.c do_user_addr_fault(), access_error(); mm/mmap.c expand_stack().
/// </summary>
internal static partial class MemoryOps
{
    /// <summary>Reads <paramref name="len"/> bytes at <paramref name="addr"/>; the hash covers the bytes read.</summary>
    internal static Signal Peek(AddressSpace mm, ulong addr, ulong len, out ulong hash)
    {
        var op = new HashBytes(mm.Pages.Memory);
        Signal signal = Access(mm, addr, len, ref op, out _);
        hash = op.Fnv.Value;
        return signal;
    }

    /// <summary>Writes <paramref name="len"/> copies of <paramref name="value"/> at <paramref name="addr"/>.</summary>
    internal static Signal Poke(AddressSpace mm, ulong addr, ulong len, byte value)
    {
        var op = new FillBytes(mm.Pages.Memory, value);
        return Access(mm, addr, len, ref op, out _);
    }

    /// <summary>
    /// Reads user memory into <paramref name="destination"/> as the process would (faulting pages in, expanding
    /// a stack). Returns <see cref="Signal.None"/>, or the signal the first inaccessible byte raises;
    /// <paramref name="done"/> is the number of bytes read before it. For emulators and sandboxes.
    /// </summary>
    internal static Signal Read(AddressSpace mm, ulong addr, Span<byte> destination, out int done)
    {
        var op = new CopyOut(mm.Pages.Memory, destination);
        Signal s = Access(mm, addr, (ulong)destination.Length, ref op, out ulong n);
        done = (int)n;
        return s;
    }

    /// <summary>
    /// Writes <paramref name="source"/> to user memory as the process would (copy-on-write, dirtying shared
    /// pages). Returns <see cref="Signal.None"/>, or the signal the first unwritable byte raises;
    /// <paramref name="done"/> is the number of bytes written before it, which stay written.
    /// </summary>
    internal static Signal Write(AddressSpace mm, ulong addr, ReadOnlySpan<byte> source, out int done)
    {
        var op = new CopyIn(mm.Pages.Memory, source);
        Signal s = Access(mm, addr, (ulong)source.Length, ref op, out ulong n);
        done = (int)n;
        return s;
    }

    /// <summary>What an access does with the bytes of each page it reaches.</summary>
    private interface IUserCopy
    {
        bool Write { get; }

        void Page(int frame, int offset, int length, int done);
    }

    /// <summary>The page walk every user access shares: page by page from the lowest address, each page
    /// resolved (faulted in) as the access needs, stopping at the first fault. Specialised per operation by
    /// the JIT and inlined into each caller, so each access runs as tight a loop as a hand-written one (the
    /// first-touch read benchmark costs a third more without the inlining).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static Signal Access<TOp>(AddressSpace mm, ulong addr, ulong len, ref TOp op, out ulong done)
        where TOp : IUserCopy, allows ref struct
    {
        done = 0;
        while (done < len)
        {
            ulong a = addr + done;
            if (a < addr || a > PageConstants.TaskSize)
            {
                return Signal.SIGSEGV;
            }

            Signal s = ResolveUserPage(mm, a, op.Write, out int frame);
            if (s != Signal.None)
            {
                return s;
            }

            int offset = (int)(a & (PageConstants.PageSize - 1));
            int n = (int)Math.Min(PageConstants.PageSize - (ulong)offset, len - done);
            op.Page(frame, offset, n, (int)done);
            done += (ulong)n;
        }

        return Signal.None;
    }

    private struct HashBytes(PhysicalMemory memory) : IUserCopy
    {
        public Fnv1a Fnv = new();

        public readonly bool Write => false;

        public void Page(int frame, int offset, int length, int done) => memory.Hash(frame, offset, length, ref Fnv);
    }

    private readonly struct FillBytes(PhysicalMemory memory, byte value) : IUserCopy
    {
        public bool Write => true;

        public void Page(int frame, int offset, int length, int done) => memory.Fill(frame, offset, length, value);
    }

    private readonly ref struct CopyOut(PhysicalMemory memory, Span<byte> destination) : IUserCopy
    {
        private readonly Span<byte> _destination = destination;

        public bool Write => false;

        public void Page(int frame, int offset, int length, int done) => memory.CopyOut(frame, offset, _destination.Slice(done, length));
    }

    private readonly ref struct CopyIn(PhysicalMemory memory, ReadOnlySpan<byte> source) : IUserCopy
    {
        private readonly ReadOnlySpan<byte> _source = source;

        public bool Write => true;

        public void Page(int frame, int offset, int length, int done) => memory.CopyIn(frame, offset, _source.Slice(done, length));
    }

    /// <summary>The frame of the page holding <paramref name="addr"/> as an access of that kind sees it,
    /// faulting it in. An access that needs no fault takes no lock (the hardware walks the page table); a fault
    /// runs under the VMA read lock, or under the mmap read lock where Linux retries with it (see
    /// <see cref="MmapLockOps.FaultRetriesUnderMmapLock"/>); growing the stack takes the mmap write lock,
    /// downgraded to read for the fault. An access made while the task holds the mmap lock (exec writing the new
    /// stack) faults under that lock.
    /// Linux: arch/x86/mm/fault.c do_user_addr_fault(): lock_vma_under_rcu(), then on VM_FAULT_RETRY or no
    /// VMA lock_mm_and_find_vma() (mm/mmap_lock.c), which upgrades to the write lock to expand the stack.</summary>
    private static Signal ResolveUserPage(AddressSpace mm, ulong addr, bool write, out int frame)
    {
        frame = PhysicalMemory.ZeroFrame;
        Vma? vma = mm.Tree.FindVma(addr);
        if (vma is null)
        {
            return Signal.SIGSEGV;
        }

        if (vma.Start > addr)
        {
            return ResolveUserPageBelow(mm, vma, addr, write, out frame);
        }

        return ResolveUserPageInVma(mm, vma, addr, write, out frame);
    }

    /// <summary>As <see cref="ResolveUserPage"/> for an address below <paramref name="vma"/>: a stack grows down
    /// to it, any other VMA leaves it unmapped. Out of line: the common access needs none of it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Signal ResolveUserPageBelow(AddressSpace mm, Vma vma, ulong addr, bool write, out int frame)
    {
        frame = PhysicalMemory.ZeroFrame;
        if ((vma.Flags & VmFlags.GrowsDown) == 0)
        {
            return Signal.SIGSEGV;
        }

        if (mm.MmapLock.IsLocked)
        {
            return ExpandStack(mm, vma, addr) != Errno.None ? Signal.SIGSEGV : ResolveUserPageInVma(mm, vma, addr, write, out frame);
        }

        using (mm.MmapLock.Write())
        {
            if (ExpandStack(mm, vma, addr) != Errno.None)
            {
                return Signal.SIGSEGV;
            }

            mm.MmapLock.Downgrade();
            return ResolveUserPageInVma(mm, vma, addr, write, out frame);
        }
    }

    /// <summary>As <see cref="ResolveUserPage"/> for an address inside <paramref name="vma"/>.</summary>
    private static Signal ResolveUserPageInVma(AddressSpace mm, Vma vma, ulong addr, bool write, out int frame)
    {
        frame = PhysicalMemory.ZeroFrame;

        // access_error(): a write needs VM_WRITE; a read any access bit (x86 cannot express write-only).
        if (write ? (vma.Flags & VmFlags.Write) == 0 : (vma.Flags & VmFlags.AccessFlags) == 0)
        {
            return Signal.SIGSEGV;
        }

        ulong vpn = addr >> PageConstants.PageShift;
        bool present = mm.Pages.TryGetPte(vpn, out Pte pte);
        if (present && pte.Kind == PteKind.Guard)
        {
            return Signal.SIGSEGV;
        }

        // No fault: a read of a present page, or a write to a page this entry may already write (a dirty
        // anonymous page no fork shares, a dirty shared page). The access only sets the accessed bit.
        if (present && pte.Young && (!write || (pte.Dirty
            && (pte.Kind == PteKind.AnonPage ? mm.Pages.Memory.RefCount(pte.Frame) == 1 : (vma.Flags & VmFlags.Shared) != 0))))
        {
            frame = pte.Frame;
            return Signal.None;
        }

        if ((vma.Flags & (VmFlags.PfnMap | VmFlags.Io)) != 0 && !present)
        {
            // A PFN mapping has no fault handler for pages its driver did not map.
            return Signal.SIGBUS;
        }

        if (mm.MmapLock.IsLocked)
        {
            return FaultUserPage(mm, vma, addr, write, present, pte, out frame);
        }

        if (MmapLockOps.FaultRetriesUnderMmapLock(vma, write, present) || !vma.TryStartRead())
        {
            return FaultUserPageUnderMmapLock(mm, vma, addr, write, present, pte, out frame);
        }

        try
        {
            return FaultUserPage(mm, vma, addr, write, present, pte, out frame);
        }
        finally
        {
            vma.EndRead();
        }
    }

    /// <summary>A fault the VMA lock cannot take: under the mmap read lock, as Linux retries it.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static Signal FaultUserPageUnderMmapLock(AddressSpace mm, Vma vma, ulong addr, bool write, bool present, Pte pte, out int frame)
    {
        using (mm.MmapLock.Read())
        {
            return FaultUserPage(mm, vma, addr, write, present, pte, out frame);
        }
    }

    /// <summary>The fault proper, under the lock <see cref="ResolveUserPageInVma"/> took.
    /// Linux: mm/memory.c handle_mm_fault().</summary>
    /// <remarks>Requires: the VMA read-locked or the mmap lock held.</remarks>
    private static Signal FaultUserPage(AddressSpace mm, Vma vma, ulong addr, bool write, bool present, Pte pte, out int frame)
    {
        Locking.LockAssert.VmaLocked(vma.IsReadLocked, mm.MmapLock, vma, "handle_mm_fault");
        frame = PhysicalMemory.ZeroFrame;
        ulong vpn = addr >> PageConstants.PageShift;
        if (!present && !write && vma.IsAnonymous && mm.Config.ZeroPage)
        {
            // The commonest read fault: anonymous memory maps the shared zero page. Linux: do_anonymous_page()
            // without FAULT_FLAG_WRITE.
            mm.Pages.Set(vpn, new Pte(PteKind.ZeroPage, PhysicalMemory.ZeroFrame, dirty: false));
            frame = PhysicalMemory.ZeroFrame;
            return Signal.None;
        }

        if (!HandleFault(mm, vma, addr, write, present, pte, out pte))
        {
            return Signal.SIGBUS;
        }

        if (!pte.Young)
        {
            // The access sets the hardware accessed bit.
            mm.Pages.SetYoung(vpn, young: true);
        }

        frame = pte.Frame;
        return Signal.None;
    }

    /// <summary>
    /// Grows a grows-down VMA down to <paramref name="addr"/> for an access below it.
    /// Linux: mm/mmap.c expand_downwards() and acct_stack_growth().
    /// </summary>
    /// <remarks>Requires: mmap lock held for write. Linux: mm/mmap.c expand_stack_locked().</remarks>
    internal static Errno ExpandStack(AddressSpace mm, Vma vma, ulong addr)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "expand_stack_locked");
        addr &= PageConstants.PageMask;
        if (addr < mm.Config.MmapMinAddr)
        {
            return Errno.EPERM;
        }

        // The stack guard gap: an accessible VMA below must stay stack_guard_gap away.
        if (vma.PrevVma is { } prev && (prev.Flags & VmFlags.GrowsDown) == 0 && (prev.Flags & VmFlags.AccessFlags) != 0
            && addr - prev.End < PageConstants.StackGuardGap)
        {
            return Errno.ENOMEM;
        }

        if (vma.PrevVma is { } p2 && p2.End > addr)
        {
            return Errno.ENOMEM;
        }

        ulong size = vma.End - addr;
        ulong grow = (vma.Start - addr) >> PageConstants.PageShift;
        if (!mm.MayExpandVm(vma.Flags, grow) || size > mm.Config.RlimitStack)
        {
            return Errno.ENOMEM;
        }

        if ((vma.Flags & VmFlags.Locked) != 0 && !mm.MlockFutureOk(vma.Flags, grow << PageConstants.PageShift))
        {
            return Errno.ENOMEM;
        }

        if ((vma.Flags & VmFlags.Account) != 0 && mm.VmEnoughMemory(grow) != Errno.None)
        {
            return Errno.ENOMEM;
        }

        // expand_downwards() gives the stack its anon_vma before it grows.
        AnonVmaPrepare(mm, vma);
        vma.PgOff -= grow;
        mm.Tree.SetRange(vma, addr, vma.End);
        mm.StatAccount(vma.Flags, (long)grow);
        if ((vma.Flags & VmFlags.Locked) != 0)
        {
            mm.LockedVm += grow;
        }

        return Errno.None;
    }

    /// <summary>
    /// Reads a file like repeated pread calls: from its page cache (filled from the host for host files), up
    /// to its end. Returns the bytes read. Linux: mm/filemap.c filemap_read().
    /// </summary>
    internal static ulong ReadFile(AddressSpace mm, MappedFile file, ulong offset, ulong len, ref Fnv1a fnv)
    {
        ulong size = file.Size == ulong.MaxValue ? offset + len : file.Size;
        if (offset >= size)
        {
            return 0;
        }

        ulong end = Math.Min(size, offset + len);
        ulong pos = offset;
        while (pos < end)
        {
            ulong pgoff = pos >> PageConstants.PageShift;
            int inPage = (int)(pos & (PageConstants.PageSize - 1));
            int n = (int)Math.Min(PageConstants.PageSize - (ulong)inPage, end - pos);
            // shmem reads holes as zeros without allocating them (SGP_READ); other files read pages in.
            int frame = file.Inode.IsShmem && !file.PageCache.TryGet(pgoff, out _)
                ? PhysicalMemory.ZeroFrame
                : file.PageCache.GetOrAdd(mm.Pages.Memory, pgoff);
            if (file.Inode.IsShmem && inPage == 0)
            {
                // "Mark the page accessed if we read the beginning." Linux: mm/shmem.c shmem_file_read_iter().
                mm.Pages.Memory.MarkAccessed(frame);
            }

            mm.Pages.Memory.Hash(frame, inPage, n, ref fnv);
            pos += (ulong)n;
        }

        return end - offset;
    }
}
