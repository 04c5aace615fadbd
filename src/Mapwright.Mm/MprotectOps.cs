using Mapwright.Abi;
using Mapwright.Contract;

namespace Mapwright.Mm;

/// <summary>mprotect. Linux: mm/mprotect.c.</summary>
internal static class MprotectOps
{
    /// <summary>Linux: mm/mprotect.c do_mprotect_pkey() (pkey -1).</summary>
    /// <remarks>Requires: mmap lock held for write.</remarks>
    internal static Errno DoMprotect(AddressSpace mm, ulong start, ulong len, Prot protArg)
    {
        Locking.LockAssert.MmapWriteLocked(mm.MmapLock, "do_mprotect_pkey");
        Prot prot = protArg;
        Prot grows = prot & (Prot.GrowsDown | Prot.GrowsUp);
        prot &= ~(Prot.GrowsDown | Prot.GrowsUp);
        if (grows == (Prot.GrowsDown | Prot.GrowsUp))
        {
            return Errno.EINVAL;
        }

        if (!PageConstants.IsPageAligned(start))
        {
            return Errno.EINVAL;
        }

        if (len == 0)
        {
            return Errno.None;
        }

        len = PageConstants.PageAlign(len);
        ulong end = start + len;
        if (end <= start)
        {
            return Errno.ENOMEM;
        }

        // arch_validate_prot(): only READ, WRITE, EXEC and SEM.
        if ((prot & ~(Prot.Read | Prot.Write | Prot.Exec | Prot.Sem)) != 0)
        {
            return Errno.EINVAL;
        }

        Vma? vma = mm.Tree.FindIntersection(start, end);
        if (vma is null)
        {
            return Errno.ENOMEM;
        }

        if ((grows & Prot.GrowsDown) != 0)
        {
            if (vma.Start >= end)
            {
                return Errno.ENOMEM;
            }

            start = vma.Start;
            if ((vma.Flags & VmFlags.GrowsDown) == 0)
            {
                return Errno.EINVAL;
            }
        }
        else
        {
            if (vma.Start > start)
            {
                return Errno.ENOMEM;
            }

            if ((grows & Prot.GrowsUp) != 0)
            {
                // x86 has no VM_GROWSUP.
                return Errno.EINVAL;
            }
        }

        Vma? prev = start > vma.Start ? vma : vma.PrevVma;
        ulong nstart = start;
        ulong tmp = vma.Start;
        Errno error = Errno.None;
        Vma? cur = vma;
        while (cur is not null && cur.Start < end)
        {
            if (cur.Start != tmp)
            {
                error = Errno.ENOMEM;
                break;
            }

            VmFlags newFlags = MmapOps.CalcVmProtBits(prot) | (cur.Flags & ~VmFlags.AccessFlags);

            // VM_MAY* are VM_* shifted left by 4: asking for what the mapping may never have is EACCES.
            if (((ulong)newFlags & ~((ulong)newFlags >> 4) & (ulong)VmFlags.AccessFlags) != 0)
            {
                error = Errno.EACCES;
                break;
            }

            tmp = Math.Min(cur.End, end);
            error = MprotectFixup(mm, ref prev, cur, nstart, tmp, newFlags, out Vma result);
            if (error != Errno.None)
            {
                break;
            }

            tmp = result.End;
            nstart = tmp;
            cur = result.NextVma;
        }

        if (error == Errno.None && tmp < end)
        {
            error = Errno.ENOMEM;
        }

        return error;
    }

    /// <summary>Linux: mm/mprotect.c mprotect_fixup().</summary>
    private static Errno MprotectFixup(AddressSpace mm, ref Vma? prev, Vma vma, ulong start, ulong end, VmFlags newFlags, out Vma result)
    {
        result = vma;
        VmFlags oldFlags = vma.Flags;
        ulong nrPages = (end - start) >> PageConstants.PageShift;
        if ((oldFlags & VmFlags.Sealed) != 0)
        {
            return Errno.EPERM;
        }

        if (newFlags == oldFlags)
        {
            prev = vma;
            return Errno.None;
        }

        ulong charged = 0;
        if ((newFlags & VmFlags.Write) != 0)
        {
            if (!mm.MayExpandVm(newFlags, nrPages) && mm.MayExpandVm(oldFlags, nrPages))
            {
                return Errno.ENOMEM;
            }

            if ((oldFlags & (VmFlags.Account | VmFlags.Write | VmFlags.HugeTlb | VmFlags.Shared | VmFlags.NoReserve)) == 0)
            {
                charged = nrPages;
                if (mm.VmEnoughMemory(charged) != Errno.None)
                {
                    return Errno.ENOMEM;
                }

                newFlags |= VmFlags.Account;
            }
        }
        else if ((oldFlags & VmFlags.Account) != 0 && vma.IsAnonymous && vma.AnonVma is null)
        {
            newFlags &= ~VmFlags.Account;
        }

        Errno err = VmaOps.ModifyFlags(mm, prev, vma, start, end, newFlags, out Vma modified);
        if (err != Errno.None)
        {
            if (charged != 0)
            {
                mm.VmUnacctMemory(charged);
            }

            return err;
        }

        prev = modified;
        result = modified;
        modified.Flags = newFlags | (modified.Flags & VmFlags.Sticky);
        if ((oldFlags & VmFlags.Account) != 0 && (newFlags & VmFlags.Account) == 0)
        {
            mm.VmUnacctMemory(nrPages);
        }

        // Write-protect: present anonymous pages stay; a private locked VMA becoming writable is populated
        // with write faults so that COW is broken up front.
        if ((oldFlags & (VmFlags.Write | VmFlags.Shared | VmFlags.Locked)) == VmFlags.Locked && (newFlags & VmFlags.Write) != 0)
        {
            _ = MemoryOps.PopulateVmaRange(mm, modified, start, end);
        }

        mm.StatAccount(oldFlags, -(long)nrPages);
        mm.StatAccount(newFlags, (long)nrPages);
        return Errno.None;
    }
}
