namespace Mapwright.Trace.Report;

/// <summary>What a VMA is, for its colour in the report's map (docs/report.md lists the rules).</summary>
public enum VmaKind
{
    /// <summary>Private or shared memory without a file or a name.</summary>
    Anon,

    /// <summary>A mapped file (a library, a program, a data file).</summary>
    File,

    /// <summary>Shared memory: shmem-backed files (memfd, <c>/dev/zero (deleted)</c>, shared anonymous memory).</summary>
    Shmem,

    /// <summary>The initial heap, <c>[heap]</c>.</summary>
    Heap,

    /// <summary>The initial stack, <c>[stack]</c>.</summary>
    Stack,

    /// <summary>A kernel mapping: <c>[vdso]</c>, <c>[vvar]</c>, <c>[vsyscall]</c>, <c>[uprobes]</c>.</summary>
    Special,

    /// <summary>A device's mapping (a driver's <c>mmap</c>, <c>VM_IO</c>/<c>VM_PFNMAP</c>, or a file under /dev).</summary>
    Device,
}
