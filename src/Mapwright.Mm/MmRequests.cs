using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>The lock a memory-management system call runs under. Linux: each syscall's choice in mm/*.c;
/// madvise's is mm/madvise.c enum madvise_lock_mode.</summary>
internal enum MmLockMode
{
    /// <summary>No lock: memory-failure injection, refused before anything is read. Linux: MADVISE_NO_LOCK.</summary>
    None,

    /// <summary>The mmap lock for read: calls that walk the range but change no VMA. Linux: mmap_read_lock().</summary>
    MmapRead,

    /// <summary>The mmap lock for write: calls that change VMAs or the layout. Linux: mmap_write_lock_killable().</summary>
    MmapWrite,

    /// <summary>The read lock of the one VMA holding the range, else the mmap read lock.
    /// Linux: MADVISE_VMA_READ_LOCK, try_vma_read_lock() → lock_vma_under_rcu().</summary>
    VmaRead,
}

/// <summary>msync flags, decoded from the int argument. Linux: include/uapi/asm-generic/mman-common.h MS_*.</summary>
[Flags]
internal enum MsyncFlags : uint
{
    /// <summary>MS_ASYNC.</summary>
    Async = 1,

    /// <summary>MS_INVALIDATE.</summary>
    Invalidate = 2,

    /// <summary>MS_SYNC.</summary>
    Sync = 4,
}

/// <summary>mlockall flags, decoded from the int argument. Linux: include/uapi/asm-generic/mman.h MCL_*.</summary>
[Flags]
internal enum MlockallFlags : uint
{
    /// <summary>MCL_CURRENT.</summary>
    Current = 1,

    /// <summary>MCL_FUTURE.</summary>
    Future = 2,

    /// <summary>MCL_ONFAULT.</summary>
    OnFault = 4,
}

/// <summary>
/// One memory-management system call with its arguments decoded into typed values: what the process facade
/// (the door) hands to Mm after decoding the raw registers, and before it takes <see cref="LockMode"/>. The
/// argument checks whose errno order Linux fixes stay in the operation, which reads the typed values as
/// the kernel's do_* function reads its parameters (unknown flag bits are kept, not dropped).
/// </summary>
internal interface IMmRequest
{
    /// <summary>The lock Linux takes to run the call.</summary>
    MmLockMode LockMode { get; }

    /// <summary>The start of the range whose VMA is read-locked under <see cref="MmLockMode.VmaRead"/>.</summary>
    ulong Start { get; }

    /// <summary>The length of that range.</summary>
    ulong Length { get; }

    /// <summary>Runs the mm operation with <see cref="LockMode"/> held; <paramref name="lockedVma"/> is the VMA
    /// read-locked in place of the mmap lock, if any.</summary>
    SysResult Run(AddressSpace mm, Vma? lockedVma);
}

/// <summary>mmap, after the door's work outside the lock: the file looked up, the huge page size decoded and the
/// length rounded to it, the offset turned into pages. Linux: mm/mmap.c ksys_mmap_pgoff() → vm_mmap_pgoff().</summary>
internal readonly record struct MmapRequest(ulong Addr, ulong Length, Prot Prot, MapFlags Flags, MappedFile? File, ulong PageOffset, ulong HugePageSize)
    : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    ulong IMmRequest.Start => Addr;

    /// <summary>do_mmap() under the write lock; then, for MAP_POPULATE or a locked mapping, the lock is released
    /// and the range populated under the read lock. Linux: mm/util.c vm_mmap_pgoff() → mm_populate().</summary>
    public SysResult Run(AddressSpace mm, Vma? lockedVma)
    {
        SysResult ret = MmapOps.DoMmap(mm, File, Addr, Length, Prot, Flags, PageOffset, HugePageSize, out ulong populate);
        if (!ret.IsError && populate != 0)
        {
            MmapLockOps.UnlockForPopulate(mm);
            _ = MemoryOps.MmPopulate(mm, ret.Value, populate, ignoreErrors: true);
        }

        return ret;
    }
}

/// <summary>munmap. Linux: mm/mmap.c __vm_munmap().</summary>
internal readonly record struct MunmapRequest(ulong Start, ulong Length) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    /// <summary>Downgraded to the read lock once the VMAs are detached. Linux: do_vmi_munmap(unlock=true).</summary>
    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(VmaOps.DoMunmap(mm, Start, Length, downgrade: true));
}

/// <summary>mprotect; <see cref="Prot"/> keeps PROT_GROWSDOWN/UP and any unknown bits for the operation to
/// check. Linux: mm/mprotect.c do_mprotect_pkey(pkey -1).</summary>
internal readonly record struct MprotectRequest(ulong Start, ulong Length, Prot Prot) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MprotectOps.DoMprotect(mm, Start, Length, Prot));
}

/// <summary>mremap; <see cref="Flags"/> keeps unknown bits for check_mremap_params(). Linux: mm/mremap.c do_mremap().</summary>
internal readonly record struct MremapRequest(ulong OldAddr, ulong OldLength, ulong NewLength, MremapFlags Flags, ulong NewAddr)
    : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    ulong IMmRequest.Start => OldAddr;

    ulong IMmRequest.Length => OldLength;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => MremapOps.DoMremap(mm, OldAddr, OldLength, NewLength, Flags, NewAddr);
}

/// <summary>madvise; the advice is an int in the kernel, so only the argument's low 32 bits count.
/// Linux: mm/madvise.c do_madvise().</summary>
internal readonly record struct MadviseRequest(ulong Start, ulong Length, Madvise Advice) : IMmRequest
{
    /// <summary>The lock for the advice. Linux: mm/madvise.c get_lock_mode().</summary>
    public MmLockMode LockMode => Advice switch
    {
        Madvise.HwPoison or Madvise.SoftOffline => MmLockMode.None,
        Madvise.Remove or Madvise.WillNeed or Madvise.Cold or Madvise.PageOut or Madvise.Free
            or Madvise.PopulateRead or Madvise.PopulateWrite or Madvise.Collapse
            or Madvise.GuardInstall or Madvise.GuardRemove => MmLockMode.MmapRead,
        Madvise.DontNeed or Madvise.DontNeedLocked => MmLockMode.VmaRead,
        _ => MmLockMode.MmapWrite,
    };

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MadviseOps.DoMadvise(mm, Start, Length, Advice, lockedVma));
}

/// <summary>msync. Linux: mm/msync.c.</summary>
internal readonly record struct MsyncRequest(ulong Start, ulong Length, MsyncFlags Flags) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapRead;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MsyncOps.DoMsync(mm, Start, Length, Flags));
}

/// <summary>mlock and mlock2: <see cref="Flags"/> is VM_LOCKED, with VM_LOCKONFAULT for MLOCK_ONFAULT.
/// Linux: mm/mlock.c do_mlock().</summary>
internal readonly record struct MlockRequest(ulong Start, ulong Length, VmFlags Flags) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    /// <summary>The flags change under the write lock, which is then released for the read lock under which the
    /// range is populated. Linux: do_mlock() → __mm_populate().</summary>
    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MlockOps.DoMlock(mm, Start, Length, Flags));
}

/// <summary>munlock. Linux: mm/mlock.c.</summary>
internal readonly record struct MunlockRequest(ulong Start, ulong Length) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MlockOps.DoMunlock(mm, Start, Length));
}

/// <summary>mlockall. Linux: mm/mlock.c.</summary>
internal readonly record struct MlockallRequest(MlockallFlags Flags) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    ulong IMmRequest.Start => 0;

    ulong IMmRequest.Length => 0;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MlockOps.DoMlockall(mm, Flags));
}

/// <summary>munlockall. Linux: mm/mlock.c.</summary>
internal readonly record struct MunlockallRequest : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    ulong IMmRequest.Start => 0;

    ulong IMmRequest.Length => 0;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MlockOps.DoMunlockall(mm));
}

/// <summary>mseal; no flag is defined yet, so any is EINVAL in the operation. Linux: mm/mseal.c do_mseal().</summary>
internal readonly record struct MsealRequest(ulong Start, ulong Length, ulong Flags) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MsealOps.DoMseal(mm, Start, Length, Flags));
}

/// <summary>brk: the result is the new break, or the old one when the request fails. Linux: mm/mmap.c brk.</summary>
internal readonly record struct BrkRequest(ulong Brk) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapWrite;

    ulong IMmRequest.Start => Brk;

    ulong IMmRequest.Length => 0;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.Ok(MmapOps.DoBrk(mm, Brk));
}

/// <summary>mincore: <see cref="VecValid"/> false models a vec the kernel cannot write (EFAULT); <see cref="Vec"/>
/// receives one byte per page. Linux: mm/mincore.c.</summary>
internal readonly record struct MincoreRequest(ulong Start, ulong Length, bool VecValid, List<byte>? Vec) : IMmRequest
{
    public MmLockMode LockMode => MmLockMode.MmapRead;

    public SysResult Run(AddressSpace mm, Vma? lockedVma) => SysResult.FromErrno(MincoreOps.DoMincore(mm, Start, Length, VecValid, Vec));
}
