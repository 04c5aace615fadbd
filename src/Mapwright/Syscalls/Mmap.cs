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

        SysResult ret;
        ulong populate;
        using (Mm.MmapLock.Write())
        {
            ret = MmapOps.DoMmap(Mm, file, addr, len, (Prot)prot, mapFlags, offset >> PageConstants.PageShift, hugeSize, out populate);
        }

        if (!ret.IsError && populate != 0)
        {
            using var readLock = Mm.MmapLock.Read();
            _ = MemoryOps.MmPopulate(Mm, ret.Value, populate, ignoreErrors: true);
        }

        return Done(ret);
    }

    /// <summary>munmap(addr, len): under the mmap write lock, downgraded to read once the VMAs are detached.
    /// Linux: mm/mmap.c __vm_munmap() → do_vmi_munmap(unlock=true) → vms_complete_munmap_vmas().</summary>
    public SysResult Munmap(ulong addr, ulong len)
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = VmaOps.DoMunmap(Mm, addr, len, downgrade: true);
        }

        return Done(err);
    }

    /// <summary>mprotect(addr, len, prot), under the mmap write lock. Linux: mm/mprotect.c do_mprotect_pkey().</summary>
    public SysResult Mprotect(ulong addr, ulong len, ulong prot)
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = MprotectOps.DoMprotect(Mm, addr, len, prot);
        }

        return Done(err);
    }

    /// <summary>mremap(old, old_len, new_len, flags, new_addr), under the mmap write lock (downgraded when it
    /// shrinks in place; released before a locked VMA's new part is populated under the read lock).
    /// Linux: mm/mremap.c do_mremap().</summary>
    public SysResult Mremap(ulong addr, ulong oldLen, ulong newLen, ulong flags, ulong newAddr)
    {
        SysResult ret;
        using (Mm.MmapLock.Write())
        {
            ret = MremapOps.DoMremap(Mm, addr, oldLen, newLen, flags, newAddr);
        }

        return Done(ret);
    }

    /// <summary>madvise(addr, len, advice), under the lock Linux takes for the advice: the mmap write lock for
    /// advice that changes VMA flags, the read lock for advice that only walks the range, the VMA read lock
    /// (without the mmap lock) for MADV_DONTNEED within one VMA, no lock for memory-failure injection.
    /// Linux: mm/madvise.c do_madvise(), get_lock_mode(), madvise_lock(), try_vma_read_lock().</summary>
    public SysResult Madvise(ulong addr, ulong len, ulong advice)
    {
        Errno err;
        switch (MadviseLockModeOf(advice))
        {
            case MadviseLockMode.None:
                err = MadviseOps.DoMadvise(Mm, addr, len, advice);
                break;
            case MadviseLockMode.VmaRead when MmapLockOps.TryLockVmaForRange(Mm, addr, len) is { } vma:
                try
                {
                    err = MadviseOps.DoMadvise(Mm, addr, len, advice, vma);
                }
                finally
                {
                    MmapLockOps.UnlockVmaRead(Mm, vma);
                }

                break;
            case MadviseLockMode.VmaRead:
            case MadviseLockMode.MmapRead:
                using (Mm.MmapLock.Read())
                {
                    err = MadviseOps.DoMadvise(Mm, addr, len, advice);
                }

                break;
            default:
                using (Mm.MmapLock.Write())
                {
                    err = MadviseOps.DoMadvise(Mm, addr, len, advice);
                }

                break;
        }

        return Done(err);
    }

    /// <summary>The lock madvise takes for an advice. Linux: mm/madvise.c get_lock_mode().</summary>
    private static MadviseLockMode MadviseLockModeOf(ulong advice) => (Madvise)(uint)advice switch
    {
        Abi.Madvise.HwPoison or Abi.Madvise.SoftOffline => MadviseLockMode.None,
        Abi.Madvise.Remove or Abi.Madvise.WillNeed or Abi.Madvise.Cold or Abi.Madvise.PageOut or Abi.Madvise.Free
            or Abi.Madvise.PopulateRead or Abi.Madvise.PopulateWrite or Abi.Madvise.Collapse
            or Abi.Madvise.GuardInstall or Abi.Madvise.GuardRemove => MadviseLockMode.MmapRead,
        Abi.Madvise.DontNeed or Abi.Madvise.DontNeedLocked => MadviseLockMode.VmaRead,
        _ => MadviseLockMode.MmapWrite,
    };

    /// <summary>msync(addr, len, flags), under the mmap read lock. Linux: mm/msync.c.</summary>
    public SysResult Msync(ulong addr, ulong len, ulong flags)
    {
        Errno err;
        using (Mm.MmapLock.Read())
        {
            err = MsyncOps.DoMsync(Mm, addr, len, (ulong)(uint)flags);
        }

        return Done(err);
    }

    /// <summary>mlock(addr, len). Linux: mm/mlock.c.</summary>
    public SysResult Mlock(ulong addr, ulong len) => Done(MlockLocked(addr, len, VmFlags.Locked));

    /// <summary>mlock and mlock2: the VMA flags change under the mmap write lock, which is then released for
    /// the read lock under which the range is populated. Linux: mm/mlock.c do_mlock() → __mm_populate().</summary>
    private Errno MlockLocked(ulong addr, ulong len, VmFlags vmFlags)
    {
        using (Mm.MmapLock.Write())
        {
            return MlockOps.DoMlock(Mm, addr, len, vmFlags);
        }
    }

    /// <summary>mlock2(addr, len, flags): MLOCK_ONFAULT only. Linux: mm/mlock.c.</summary>
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

        return Done(MlockLocked(addr, len, vmFlags));
    }

    /// <summary>munlock(addr, len), under the mmap write lock. Linux: mm/mlock.c.</summary>
    public SysResult Munlock(ulong addr, ulong len)
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = MlockOps.DoMunlock(Mm, addr, len);
        }

        return Done(err);
    }

    /// <summary>mlockall(flags): flags under the mmap write lock, populate under the read lock. Linux: mm/mlock.c.</summary>
    public SysResult Mlockall(ulong flags)
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = MlockOps.DoMlockall(Mm, (ulong)(uint)flags);
        }

        return Done(err);
    }

    /// <summary>munlockall(), under the mmap write lock. Linux: mm/mlock.c.</summary>
    public SysResult Munlockall()
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = MlockOps.DoMunlockall(Mm);
        }

        return Done(err);
    }

    /// <summary>mseal(addr, len, flags), under the mmap write lock. Linux: mm/mseal.c do_mseal().</summary>
    public SysResult Mseal(ulong addr, ulong len, ulong flags)
    {
        Errno err;
        using (Mm.MmapLock.Write())
        {
            err = MsealOps.DoMseal(Mm, addr, len, flags);
        }

        return Done(err);
    }

    /// <summary>brk(addr): returns the new break, or the old one when the request fails. Under the mmap write
    /// lock, downgraded when the heap shrinks, released before a locked heap's growth is populated.
    /// Linux: mm/mmap.c brk syscall.</summary>
    public SysResult Brk(ulong addr)
    {
        ulong brk;
        using (Mm.MmapLock.Write())
        {
            brk = MmapOps.DoBrk(Mm, addr);
        }

        return Done(SysResult.Ok(brk));
    }

    /// <summary>
    /// mincore(addr, len, vec), under the mmap read lock. <paramref name="vecValid"/> false models a vec pointer
    /// the kernel cannot write (EFAULT); <paramref name="residency"/> receives one byte per page.
    /// Linux: mm/mincore.c.
    /// </summary>
    public SysResult Mincore(ulong addr, ulong len, bool vecValid, List<byte>? residency)
    {
        Errno err;
        using (Mm.MmapLock.Read())
        {
            err = MincoreOps.DoMincore(Mm, addr, len, vecValid, residency);
        }

        return Done(err);
    }
}
