using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Mm;
using Mapwright.Vfs;

namespace Mapwright.Syscalls;

public sealed partial class MmSyscalls
{
    /// <summary>
    /// mmap(addr, len, prot, flags, fd, offset).
    /// Linux: arch/x86/kernel/sys_x86_64.c sys_mmap, mm/mmap.c ksys_mmap_pgoff(), vm_mmap_pgoff(), do_mmap().
    /// </summary>
    public SysResult Mmap(ulong addr, ulong len, ulong prot, ulong flags, ulong fd, ulong offset)
    {
        if ((offset & ~PageConstants.PageMask) != 0)
        {
            return Done(Errno.EINVAL);
        }

        var mapFlags = (MapFlags)flags;
        MappedFile? file = null;
        if ((mapFlags & MapFlags.Anonymous) == 0)
        {
            file = Files.Get(fd);
            if (file is null)
            {
                return Done(Errno.EBADF);
            }

            if ((mapFlags & MapFlags.HugeTlb) != 0)
            {
                return Done(Errno.EINVAL);
            }
        }

        ulong hugeSize = 0;
        if (file is null && (mapFlags & MapFlags.HugeTlb) != 0)
        {
            // hstate_sizelog(): 0 is the default huge page size (2 MiB); x86-64 also has 1 GiB.
            ulong sizeLog = (flags >> 26) & 0x3f;
            if (sizeLog != 0 && sizeLog != 21 && sizeLog != 30)
            {
                return Done(Errno.EINVAL);
            }

            hugeSize = sizeLog == 30 ? 1UL << 30 : 2UL << 20;
            len = (len + hugeSize - 1) & ~(hugeSize - 1);
        }

        return Enter(new MmapRequest(addr, len, (Prot)prot, mapFlags, file, offset >> PageConstants.PageShift, hugeSize));
    }

    /// <summary>munmap(addr, len): under the mmap write lock, downgraded to read once the VMAs are detached.
    /// Linux: mm/mmap.c __vm_munmap() → do_vmi_munmap(unlock=true) → vms_complete_munmap_vmas().</summary>
    public SysResult Munmap(ulong addr, ulong len) => Enter(new MunmapRequest(addr, len));

    /// <summary>mprotect(addr, len, prot), under the mmap write lock. Linux: mm/mprotect.c do_mprotect_pkey().</summary>
    public SysResult Mprotect(ulong addr, ulong len, ulong prot) => Enter(new MprotectRequest(addr, len, (Prot)prot));

    /// <summary>mremap(old, old_len, new_len, flags, new_addr), under the mmap write lock (downgraded when it
    /// shrinks in place; released before a locked VMA's new part is populated under the read lock).
    /// Linux: mm/mremap.c do_mremap().</summary>
    public SysResult Mremap(ulong addr, ulong oldLen, ulong newLen, ulong flags, ulong newAddr) =>
        Enter(new MremapRequest(addr, oldLen, newLen, (MremapFlags)flags, newAddr));

    /// <summary>madvise(addr, len, advice), under the lock Linux takes for the advice: the mmap write lock for
    /// advice that changes VMA flags, the read lock for advice that only walks the range, the VMA read lock
    /// (without the mmap lock) for MADV_DONTNEED within one VMA, no lock for memory-failure injection.
    /// The advice is an int in the kernel: only the argument's low 32 bits count.
    /// Linux: mm/madvise.c do_madvise(), get_lock_mode(), madvise_lock(), try_vma_read_lock().</summary>
    public SysResult Madvise(ulong addr, ulong len, ulong advice) => Enter(new MadviseRequest(addr, len, (Madvise)(int)(uint)advice));

    /// <summary>msync(addr, len, flags), under the mmap read lock; flags is an int. Linux: mm/msync.c.</summary>
    public SysResult Msync(ulong addr, ulong len, ulong flags) => Enter(new MsyncRequest(addr, len, (MsyncFlags)(uint)flags));

    /// <summary>mlock(addr, len): the VMA flags change under the mmap write lock, which is then released for the
    /// read lock under which the range is populated. Linux: mm/mlock.c do_mlock() → __mm_populate().</summary>
    public SysResult Mlock(ulong addr, ulong len) => Enter(new MlockRequest(addr, len, VmFlags.Locked));

    /// <summary>mlock2(addr, len, flags): MLOCK_ONFAULT only, checked before the lock. Linux: mm/mlock.c.</summary>
    public SysResult Mlock2(ulong addr, ulong len, ulong flags)
    {
        const ulong onFault = 1;
        uint f = (uint)flags;
        if ((f & ~onFault) != 0)
        {
            return Done(Errno.EINVAL);
        }

        var vmFlags = VmFlags.Locked;
        if ((f & onFault) != 0)
        {
            vmFlags |= VmFlags.LockOnFault;
        }

        return Enter(new MlockRequest(addr, len, vmFlags));
    }

    /// <summary>munlock(addr, len), under the mmap write lock. Linux: mm/mlock.c.</summary>
    public SysResult Munlock(ulong addr, ulong len) => Enter(new MunlockRequest(addr, len));

    /// <summary>mlockall(flags): flags under the mmap write lock, populate under the read lock; flags is an int.
    /// Linux: mm/mlock.c.</summary>
    public SysResult Mlockall(ulong flags) => Enter(new MlockallRequest((MlockallFlags)(uint)flags));

    /// <summary>munlockall(), under the mmap write lock. Linux: mm/mlock.c.</summary>
    public SysResult Munlockall() => Enter(default(MunlockallRequest));

    /// <summary>mseal(addr, len, flags), under the mmap write lock. Linux: mm/mseal.c do_mseal().</summary>
    public SysResult Mseal(ulong addr, ulong len, ulong flags) => Enter(new MsealRequest(addr, len, flags));

    /// <summary>brk(addr): returns the new break, or the old one when the request fails. Under the mmap write
    /// lock, downgraded when the heap shrinks, released before a locked heap's growth is populated.
    /// Linux: mm/mmap.c brk syscall.</summary>
    public SysResult Brk(ulong addr) => Enter(new BrkRequest(addr));

    /// <summary>
    /// mincore(addr, len, vec), under the mmap read lock. <paramref name="vecValid"/> false models a vec pointer
    /// the kernel cannot write (EFAULT); <paramref name="residency"/> receives one byte per page.
    /// Linux: mm/mincore.c.
    /// </summary>
    public SysResult Mincore(ulong addr, ulong len, bool vecValid, List<byte>? residency) =>
        Enter(new MincoreRequest(addr, len, vecValid, residency));

    /// <summary>
    /// The door every memory-management call goes through once its arguments are decoded: takes the lock the
    /// request names (the mmap lock for write or read, a VMA's read lock where Linux tries it first, or
    /// none), runs the mm operation, releases the lock (the operation may have downgraded it, or traded it for
    /// the read lock to populate), then checks the address-space invariants. The lock mode of most requests is
    /// a constant, so the switch folds away in each request's copy of this method.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private SysResult Enter<TRequest>(in TRequest request)
        where TRequest : struct, IMmRequest => Done(request.LockMode switch
        {
            MmLockMode.MmapWrite => RunWriteLocked(in request),
            MmLockMode.MmapRead => RunReadLocked(in request),
            MmLockMode.VmaRead => RunVmaReadLocked(in request),
            _ => request.Run(Mm, null),
        });

    private SysResult RunWriteLocked<TRequest>(in TRequest request)
        where TRequest : struct, IMmRequest
    {
        using (Mm.MmapLock.Write())
        {
            return request.Run(Mm, null);
        }
    }

    private SysResult RunReadLocked<TRequest>(in TRequest request)
        where TRequest : struct, IMmRequest
    {
        using (Mm.MmapLock.Read())
        {
            return request.Run(Mm, null);
        }
    }

    /// <summary>The read lock of the one VMA holding the range, without the mmap lock; the mmap read lock when the
    /// range is not in one VMA or its lock is contended. Linux: try_vma_read_lock(), else mmap_read_lock().</summary>
    private SysResult RunVmaReadLocked<TRequest>(in TRequest request)
        where TRequest : struct, IMmRequest
    {
        if (MmapLockOps.TryLockVmaForRange(Mm, request.Start, request.Length) is not { } vma)
        {
            return RunReadLocked(in request);
        }

        try
        {
            return request.Run(Mm, vma);
        }
        finally
        {
            MmapLockOps.UnlockVmaRead(Mm, vma);
        }
    }
}
