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

        long ret;
        ulong populate;
        using (Mm.MmapLock.Write())
        {
            ret = MmapOps.DoMmap(Mm, file, addr, len, (Prot)prot, mapFlags, offset >> PageConstants.PageShift, hugeSize, out populate);
        }

        if (ret >= 0 && populate != 0)
        {
            using var readLock = Mm.MmapLock.Read();
            _ = MemoryOps.MmPopulate(Mm, (ulong)ret, populate, ignoreErrors: true);
        }

        return Done(FromLong(ret));
    }

    /// <summary>munmap(addr, len). Linux: mm/mmap.c __vm_munmap() → do_vmi_munmap().</summary>
    public SysResult Munmap(ulong addr, ulong len) => Done(VmaOps.DoMunmap(Mm, addr, len));

    /// <summary>mprotect(addr, len, prot). Linux: mm/mprotect.c do_mprotect_pkey().</summary>
    public SysResult Mprotect(ulong addr, ulong len, ulong prot) => Done(MprotectOps.DoMprotect(Mm, addr, len, prot));

    /// <summary>mremap(old, old_len, new_len, flags, new_addr). Linux: mm/mremap.c do_mremap().</summary>
    public SysResult Mremap(ulong addr, ulong oldLen, ulong newLen, ulong flags, ulong newAddr) =>
        Done(FromLong(MremapOps.DoMremap(Mm, addr, oldLen, newLen, flags, newAddr)));

    /// <summary>madvise(addr, len, advice). Linux: mm/madvise.c do_madvise().</summary>
    public SysResult Madvise(ulong addr, ulong len, ulong advice) => Done(MadviseOps.DoMadvise(Mm, addr, len, advice));

    /// <summary>msync(addr, len, flags). Linux: mm/msync.c.</summary>
    public SysResult Msync(ulong addr, ulong len, ulong flags) => Done(MsyncOps.DoMsync(Mm, addr, len, (ulong)(uint)flags));

    /// <summary>mlock(addr, len). Linux: mm/mlock.c.</summary>
    public SysResult Mlock(ulong addr, ulong len) => Done(MlockOps.DoMlock(Mm, addr, len, VmFlags.Locked));

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

        return Done(MlockOps.DoMlock(Mm, addr, len, vmFlags));
    }

    /// <summary>munlock(addr, len). Linux: mm/mlock.c.</summary>
    public SysResult Munlock(ulong addr, ulong len) => Done(MlockOps.DoMunlock(Mm, addr, len));

    /// <summary>mlockall(flags). Linux: mm/mlock.c.</summary>
    public SysResult Mlockall(ulong flags) => Done(MlockOps.DoMlockall(Mm, (ulong)(uint)flags));

    /// <summary>munlockall(). Linux: mm/mlock.c.</summary>
    public SysResult Munlockall() => Done(MlockOps.DoMunlockall(Mm));

    /// <summary>mseal(addr, len, flags). Linux: mm/mseal.c.</summary>
    public SysResult Mseal(ulong addr, ulong len, ulong flags) => Done(MsealOps.DoMseal(Mm, addr, len, flags));

    /// <summary>brk(addr): returns the new break, or the old one when the request fails. Linux: mm/mmap.c.</summary>
    public SysResult Brk(ulong addr) => Done(SysResult.Ok(MmapOps.DoBrk(Mm, addr)));

    /// <summary>
    /// mincore(addr, len, vec). <paramref name="vecValid"/> false models a vec pointer the kernel cannot write
    /// (EFAULT); <paramref name="residency"/> receives one byte per page. Linux: mm/mincore.c.
    /// </summary>
    public SysResult Mincore(ulong addr, ulong len, bool vecValid, List<byte>? residency) =>
        Done(MincoreOps.DoMincore(Mm, addr, len, vecValid, residency));
}
