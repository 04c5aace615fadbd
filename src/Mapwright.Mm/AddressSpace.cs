using Mapwright.Abi;
using Mapwright.Contract;
using Mapwright.Diagnostics;
using Mapwright.FailPoints;
using Mapwright.Paging;

namespace Mapwright.Mm;

/// <summary>
/// A process address space: its VMAs, layout bases, counters and page tables.
/// Single-threaded: every public operation runs as if under the mmap write lock.
/// Linux: include/linux/mm_types.h struct mm_struct.
/// </summary>
public sealed class AddressSpace : IMmView
{
    private readonly List<string> _gateLines = [];

    /// <summary>A new, empty address space of <paramref name="manager"/>.</summary>
    public AddressSpace(MmConfig config, MemoryManager manager)
    {
        ArgumentNullException.ThrowIfNull(manager);
        Manager = manager;
        MmapLock = new Locking.MmapLock(manager.LockDep);
        Manager.Add(this);
        Pages = new PageTable(Manager.Memory);
        Tree = new VmaTree(this);
        Config = config;
        SetMmapLayout(null);
    }

    internal VmaTree Tree { get; }

    /// <summary>Immutable after construction.</summary>
    public MmConfig Config { get; }

    /// <summary>The memory manager of the machine this address space lives on. Immutable after construction.</summary>
    public MemoryManager Manager { get; }

    /// <summary>Immutable after construction (the entries are protected by: mmap lock).</summary>
    public PageTable Pages { get; }

    /// <summary>The mmap lock. Linux: mm->mmap_lock.</summary>
    public Locking.MmapLock MmapLock { get; }

    /// <summary>Receives one line per hook call when hook tracing is on (mapwright run --hook-trace).</summary>
    public Action<string>? HookTracer { get; set; }

    /// <summary>Merges performed: a new or changed range joined to a neighbour (vma_merge_new_range(),
    /// vma_merge_existing_range() succeeding). Linux keeps no such count; the replay statistics show it.</summary>
    public long Merges { get; internal set; }

    /// <summary>VMAs split in two. Linux: mm/vma.c __split_vma() succeeding.</summary>
    public long Splits { get; internal set; }

    /// <summary>Armed failure points, or null when none are used.</summary>
    public FailPointSet? FailPoints { get; set; }

    /// <summary>True if the named failure point fires now.</summary>
    internal bool Inject(string name) => FailPoints is { } set && set.Hit(name);

    /// <summary>Top of the top-down mmap area. Set at creation and by <see cref="PickMmapLayout"/>.
    /// Linux: mm->mmap_base (arch/x86/mm/mmap.c).</summary>
    public ulong MmapBase { get; internal set; }

    /// <summary>Start of the bottom-up area. Linux: mm->mmap_legacy_base.</summary>
    public ulong MmapLegacyBase { get; internal set; }

    /// <summary>False gives the legacy bottom-up layout. Linux: MMF_TOPDOWN.</summary>
    public bool TopDown { get; internal set; } = true;

    /// <summary>Where the heap starts: the program break execve set. Set by exec, by the initial layout and by
    /// <see cref="PrctlSetMmBrk"/>. Protected by: mmap lock. Linux: mm->start_brk.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong StartBrk { get; internal set; }

    /// <summary>The current program break. Moved by brk(); set like <see cref="StartBrk"/>. Protected by: mmap
    /// lock. Linux: mm->brk.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong Brk { get; internal set; }

    /// <summary>The stack pointer execve left (the address of argc). Protected by: mmap lock.
    /// Linux: mm->start_stack.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong StartStack { get; internal set; }

    /// <summary>Pages mapped. Protected by: mmap lock (write). Linux: mm->total_vm.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong TotalVm { get; internal set; }

    public ulong LockedVm { get; internal set; }

    public ulong DataVm { get; internal set; }

    public ulong ExecVm { get; internal set; }

    public ulong StackVm { get; internal set; }

    /// <summary>Pages charged to overcommit accounting by this address space (vm_committed_as share).</summary>
    public long CommittedPages { get; internal set; }

    /// <summary>Flags every new VMA gets (VM_LOCKED after mlockall(MCL_FUTURE)). Linux: mm->def_flags.</summary>
    public VmFlags DefFlags { get; internal set; }

    /// <summary>Where the program's text starts (its lowest executable segment), as exec set it; status' VmExe.
    /// Protected by: mmap lock (write). Linux: mm->start_code.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong StartCode { get; internal set; }

    /// <summary>The end of the program's executable segments' file contents, as exec set it.
    /// Protected by: mmap lock (write). Linux: mm->end_code.</summary>
    [Locking.GuardedBy("mmap_lock")]
    public ulong EndCode { get; internal set; }

    /// <summary>The PIE program and the interpreter the last execve mapped where randomisation would have put them
    /// elsewhere, for <see cref="FollowImage"/>; null when there are none. Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal Exec.ExecImage[]? ExecImages { get; set; }

    /// <summary>The largest TotalVm seen when pages were unmapped. Protected by: mmap lock (write).
    /// Linux: mm->hiwater_vm.</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal ulong HiwaterVm { get; set; }

    /// <summary>Records VmPeak before TotalVm drops. Linux: include/linux/mm.h update_hiwater_vm().</summary>
    internal void UpdateHiwaterVm() => HiwaterVm = Math.Max(HiwaterVm, TotalVm);

    /// <summary>The address the log shows for the next placement of this address space, or null: the call's first
    /// placement search that is not MAP_FIXED consults it. Protected by: the caller of one syscall, which sets it
    /// before the call and clears it after, on the thread that makes it (read under the mmap lock, write).</summary>
    public PlacementToFollow? Follow { get; set; }

    /// <summary>A brk result has shown this address space's program break since execve: a replay that follows a
    /// log captured with randomisation on takes the break from the first one (<see cref="FollowBrk"/>) and checks
    /// the later ones. Inherited by fork. Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    public bool BrkShown { get; internal set; }

    /// <summary>Reused by <see cref="VmaOps.DoAlignedMunmap"/> (one task, and it is never re-entered): munmap
    /// allocates nothing but what it frees. Used by VmaOps only. Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal VmaMunmap? MunmapScratch { get; set; }

    /// <summary>Reused by <see cref="ForkOps"/>' page walk (copy_page_range()): one task, and the walk runs
    /// inside no other. Protected by: mmap lock (write).</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal List<(ulong Vpn, Pte Pte)> ForkPageScratch { get; } = [];

    /// <summary>Reused by <see cref="MadviseOps"/>' page walks: one task, and no walk runs inside another.
    /// Protected by: mmap lock.</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal List<(ulong Vpn, Pte Pte)> MadvisePageScratch { get; } = [];

    /// <summary>Reused by <see cref="TaskMmu"/>' page walks (smaps, status): one task, and no walk runs inside
    /// another. Protected by: mmap lock.</summary>
    [Locking.GuardedBy("mmap_lock")]
    internal List<(ulong Vpn, Pte Pte)> TaskMmuPageScratch { get; } = [];

    /// <summary>The gate-area lines as a list, for the callers in this assembly that copy or print them without
    /// an enumerator.</summary>
    internal List<string> GateLineList => _gateLines;

    public int MapCount => Tree.Count;

    public Vma? FirstVma => Tree.First;

    /// <summary>VMAs in address order.</summary>
    public IEnumerable<Vma> Vmas
    {
        get
        {
            for (Vma? v = Tree.First; v is not null; v = v.NextVma)
            {
                yield return v;
            }
        }
    }

    /// <summary>Lines maps prints after the VMAs (the [vsyscall] gate area, which is no VMA).</summary>
    public IReadOnlyList<string> GateLines => _gateLines;

    internal void AddGateLine(string line) => _gateLines.Add(line);

    /// <summary>The lowest start and highest end of the VMAs inserted, removed, resized or changed since the last
    /// <see cref="TakeChangedRange"/> (<see cref="ulong.MaxValue"/> and 0 when none). Protected by: mmap lock.</summary>
    [Locking.GuardedBy("mmap_lock")]
    private ulong _changedLow = ulong.MaxValue;

    [Locking.GuardedBy("mmap_lock")]
    private ulong _changedHigh;

    /// <summary>
    /// The smallest range covering every VMA inserted, removed, resized, or changed in its flags, offset, file or
    /// operations since the last call, which is reset; false when none changed. For an observer that keeps a copy
    /// of the maps and updates it after each call instead of reading every VMA again (the HTML report). The
    /// names <c>[heap]</c> and <c>[stack]</c> also follow <see cref="Brk"/>, <see cref="StartBrk"/> and
    /// <see cref="StartStack"/>, which such an observer compares itself. No Linux counterpart (the nearest are
    /// the mmu notifiers, which report ranges of page-table changes).
    /// </summary>
    public bool TakeChangedRange(out ulong start, out ulong end)
    {
        start = _changedLow;
        end = _changedHigh;
        _changedLow = ulong.MaxValue;
        _changedHigh = 0;
        return start < end;
    }

    /// <summary>Records that the VMA range [start, end) changed (see <see cref="TakeChangedRange"/>).</summary>
    internal void NoteChanged(ulong start, ulong end)
    {
        if (start < _changedLow)
        {
            _changedLow = start;
        }

        if (end > _changedHigh)
        {
            _changedHigh = end;
        }
    }

    public Vma? FindVma(ulong addr) => Tree.FindVma(addr);

    public Vma? LookupVma(ulong addr) => Tree.Lookup(addr);

    internal static Vma? NextOf(Vma vma) => vma.NextVma;

    internal static Vma? PrevOf(Vma vma) => vma.PrevVma;

    /// <summary>mmap_base for a stack rlimit with randomisation off.
    /// Linux: arch/x86/mm/mmap.c mmap_base(): gap = rlimit + guard gap, clamped to [128 MiB, 5/6 of the task size].</summary>
    public static ulong ComputeMmapBase(ulong rlimitStack)
    {
        const ulong taskSize = PageConstants.TaskSize;
        ulong gap = rlimitStack;
        ulong padded = gap + PageConstants.StackGuardGap;
        if (padded > gap)
        {
            gap = padded;
        }

        ulong gapMin = 128UL << 20;
        ulong gapMax = taskSize / 6 * 5;
        if (gap < gapMin)
        {
            gap = gapMin;
        }
        else if (gap > gapMax)
        {
            gap = gapMax;
        }

        return PageConstants.PageAlign(taskSize - gap);
    }

    /// <summary>
    /// Chooses the mmap layout of a new address space: <see cref="MmapBase"/> is <paramref name="mmapBase"/> when
    /// given — the base a layout with address randomisation on was given (mmap_base() less a random gap), read from
    /// the log of the process being replayed (<c>--mmap-base</c>) — or else computed from the stack limit with
    /// randomisation off (<see cref="ComputeMmapBase"/>), as at creation; the legacy base is TASK_SIZE / 3.
    /// Linux: arch/x86/mm/mmap.c arch_pick_mmap_layout(), which setup_new_exec() calls on the new mm before
    /// anything is mapped in it.
    /// </summary>
    /// <remarks>Requires: a new address space (no VMA yet), as in Linux; no lock, since no other task can see it
    /// yet.</remarks>
    public void PickMmapLayout(ulong? mmapBase)
    {
        Bug.On(Tree.Count != 0, "arch_pick_mmap_layout() on an address space that has VMAs");
        SetMmapLayout(mmapBase);
    }

    private void SetMmapLayout(ulong? mmapBase)
    {
        MmapBase = mmapBase ?? ComputeMmapBase(Config.RlimitStack);
        MmapLegacyBase = PageConstants.PageAlign(PageConstants.TaskSize / 3);
    }

    /// <summary>
    /// Sets where the heap starts and the current break: a process rebuilt from a record of another (a checkpoint,
    /// the log of the process being replayed: <c>--brk-start</c>) gets the break that one had. Both move together,
    /// as PR_SET_MM_MAP sets them, so that the order start_brk &lt;= brk holds throughout.
    /// Linux: kernel/sys.c prctl(PR_SET_MM, PR_SET_MM_START_BRK / PR_SET_MM_BRK, addr) → prctl_set_mm(), and
    /// prctl(PR_SET_MM, PR_SET_MM_MAP) → prctl_set_mm_map(), both under mmap_read_lock() (the lock excludes a
    /// concurrent brk()). The model does not make prctl's other checks (CAP_SYS_RESOURCE; every field of the map
    /// within [mmap_min_addr, TASK_SIZE); RLIMIT_DATA against the data and heap sizes): its caller restores a
    /// layout Linux built.
    /// </summary>
    /// <remarks>Requires: the mmap lock, in either mode (Linux takes it for read).</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="startBrk"/> is above <paramref name="brk"/>
    /// (prctl's EINVAL).</exception>
    public void PrctlSetMmBrk(ulong startBrk, ulong brk)
    {
        Locking.LockAssert.MmapLocked(MmapLock, "prctl(PR_SET_MM)");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(startBrk, brk);
        StartBrk = startBrk;
        Brk = brk;
    }

    /// <summary>Inserts a VMA made outside the syscall path (initial maps, exec). Accounts it like a new mapping.</summary>
    internal Vma InstallInitialVma(ulong start, ulong end, VmFlags flags, ulong pgoff, MappedFile? file, VmOperations? ops, bool faulted)
    {
        Bug.On(!PageConstants.IsPageAligned(start) || !PageConstants.IsPageAligned(end) || start >= end, $"bad initial range {start:x}-{end:x}");
        Bug.On(Tree.FindIntersection(start, end) is not null, $"initial range {start:x}-{end:x} overlaps");
        var vma = new Vma(start, end, pgoff, flags, file) { VmOps = ops };
        if (faulted && file is null && (flags & VmFlags.Shared) == 0)
        {
            vma.AnonVma = new AnonVma();
        }

        Tree.Insert(vma);
        StatAccount(flags, (long)vma.Pages);
        if ((flags & VmFlags.Locked) != 0)
        {
            LockedVm += vma.Pages;
        }

        if ((flags & VmFlags.Account) != 0)
        {
            CommittedPages += (long)vma.Pages;
        }

        return vma;
    }

    // ---- accounting: Linux mm/mmap.c vm_stat_account(), may_expand_vm(); mm/util.c __vm_enough_memory() ----

    internal static bool IsExecMapping(VmFlags f) => (f & (VmFlags.Exec | VmFlags.Write | VmFlags.Stack)) == VmFlags.Exec;

    internal static bool IsStackMapping(VmFlags f) => (f & VmFlags.Stack) == VmFlags.Stack;

    internal static bool IsDataMapping(VmFlags f) => (f & (VmFlags.Write | VmFlags.Shared | VmFlags.Stack)) == VmFlags.Write;

    /// <summary>Linux: mm/mmap.c vm_stat_account().</summary>
    internal void StatAccount(VmFlags flags, long pages)
    {
        TotalVm = (ulong)((long)TotalVm + pages);
        if (IsExecMapping(flags))
        {
            ExecVm = (ulong)((long)ExecVm + pages);
        }
        else if (IsStackMapping(flags))
        {
            StackVm = (ulong)((long)StackVm + pages);
        }
        else if (IsDataMapping(flags))
        {
            DataVm = (ulong)((long)DataVm + pages);
        }
    }

    /// <summary>RLIMIT_AS and RLIMIT_DATA. Linux: mm/mmap.c may_expand_vm().</summary>
    internal bool MayExpandVm(VmFlags flags, ulong pages)
    {
        if (TotalVm + pages > Config.RlimitAs >> PageConstants.PageShift)
        {
            return false;
        }

        if (IsDataMapping(flags) && DataVm + pages > Config.RlimitData >> PageConstants.PageShift)
        {
            // Linux's valgrind workaround: RLIMIT_DATA 0 is checked against the hard limit, which we model as equal.
            return false;
        }

        return true;
    }

    /// <summary>Charges overcommit. Linux: mm/util.c __vm_enough_memory().</summary>
    internal Errno VmEnoughMemory(ulong pages)
    {
        if (Inject("vm_enough_memory"))
        {
            return Errno.ENOMEM;
        }

        switch (Config.OvercommitMode)
        {
            case 1:
                break;
            case 0:
                if (pages > Config.TotalRamPages + Config.TotalSwapPages)
                {
                    return Errno.ENOMEM;
                }

                break;
            default:
                ulong allowed = (Config.TotalRamPages * Config.OvercommitRatio / 100) + Config.TotalSwapPages;
                // vm_committed_as is machine-wide: every address space's charge counts.
                long committed = 0;
                foreach (AddressSpace mm in Manager.AddressSpaces)
                {
                    committed += mm.CommittedPages;
                }

                if ((ulong)Math.Max(0, committed) + pages > allowed)
                {
                    return Errno.ENOMEM;
                }

                break;
        }

        CommittedPages += (long)pages;
        return Errno.None;
    }

    /// <summary>Linux: vm_unacct_memory().</summary>
    internal void VmUnacctMemory(ulong pages) => CommittedPages -= (long)pages;

    /// <summary>Linux: mm/internal.h mlock_future_ok().</summary>
    internal bool MlockFutureOk(VmFlags flags, ulong bytes)
    {
        if ((flags & VmFlags.Locked) == 0 || Config.CapIpcLock)
        {
            return true;
        }

        ulong lockedPages = (bytes >> PageConstants.PageShift) + LockedVm;
        return lockedPages <= Config.RlimitMemlock >> PageConstants.PageShift;
    }

    /// <summary>Linux: mm/mlock.c can_do_mlock().</summary>
    internal bool CanDoMlock() => Config.RlimitMemlock != 0 || Config.CapIpcLock;

    /// <summary>Runs the whole-structure check when <see cref="MmDebug.CheckInvariants"/> is on.</summary>
    internal void CheckInvariants()
    {
        if (MmDebug.CheckInvariants)
        {
            MmValidate.Validate(this);
        }
    }

    /// <inheritdoc/>
    void IMmView.TraceHook(string name, MappedFile file, IVmArea vma, Errno result, bool withVma) =>
        VmaOps.TraceHook(this, name, file, vma.Start, vma.End, withVma ? (Vma)vma : null, result);

    // ---- views and entry points kept on the address space; each forwards to the type of its Linux file ----

    /// <inheritdoc cref="MemoryOps.Peek"/>
    public Signal Peek(ulong addr, ulong len, out ulong hash) => MemoryOps.Peek(this, addr, len, out hash);

    /// <inheritdoc cref="MemoryOps.Poke"/>
    public Signal Poke(ulong addr, ulong len, byte value) => MemoryOps.Poke(this, addr, len, value);

    /// <inheritdoc cref="MemoryOps.Read"/>
    public Signal Read(ulong addr, Span<byte> destination, out int done) => MemoryOps.Read(this, addr, destination, out done);

    /// <inheritdoc cref="MemoryOps.Write"/>
    public Signal Write(ulong addr, ReadOnlySpan<byte> source, out int done) => MemoryOps.Write(this, addr, source, out done);

    /// <inheritdoc cref="MemoryOps.ReadFile"/>
    public ulong ReadFile(MappedFile file, ulong offset, ulong len, ref Fnv1a fnv) => MemoryOps.ReadFile(this, file, offset, len, ref fnv);

    /// <inheritdoc cref="TaskMmu.FormatMaps"/>
    public string FormatMaps() => TaskMmu.FormatMaps(this);

    /// <inheritdoc cref="TaskMmu.DescribeMapsLine"/>
    public MapsEntry DescribeMapsLine(Vma vma) => TaskMmu.DescribeMapsLine(this, vma);

    /// <inheritdoc cref="ForkOps.Fork"/>
    public Errno Fork(out AddressSpace? child) => ForkOps.Fork(this, out child);

    /// <inheritdoc cref="ForkOps.Exit"/>
    public void Exit() => ForkOps.Exit(this);

    /// <inheritdoc cref="PlacementFollow.FollowBrk"/>
    public string? FollowBrk(ulong requested, ulong logged) => PlacementFollow.FollowBrk(this, requested, logged);

    /// <inheritdoc cref="PlacementFollow.FollowImage"/>
    public string? FollowImage(ulong addr, ulong len)
    {
        string? refusal = PlacementFollow.FollowImage(this, addr, len);
        CheckInvariants();
        return refusal;
    }

    /// <inheritdoc cref="MemoryOps.InsertPagesForDriver"/>
    public void InsertPagesForDriver(IVmArea vma, ulong start, ulong end) => MemoryOps.InsertPagesForDriver(this, vma, start, end);

    /// <inheritdoc cref="MemoryOps.CountWritableMappings"/>
    public int CountWritableMappings(Inode inode) => MemoryOps.CountWritableMappings(this, inode);

    /// <inheritdoc cref="TaskMmu.MemoryUsage"/>
    public VmaMemoryUsage MemoryUsage(Vma vma) => TaskMmu.MemoryUsage(this, vma);

    /// <inheritdoc cref="TaskMmu.Status"/>
    public MemoryStatus Status() => TaskMmu.Status(this);

    /// <inheritdoc cref="TaskMmu.FormatSmaps"/>
    public string FormatSmaps() => TaskMmu.FormatSmaps(this);

    /// <inheritdoc cref="TaskMmu.FormatStatus"/>
    public string FormatStatus() => TaskMmu.FormatStatus(this);

    /// <inheritdoc cref="MmValidate.Validate"/>
    public void Validate() => MmValidate.Validate(this);
}
