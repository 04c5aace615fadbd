using System.Buffers.Binary;
using Mapwright.Contract;

namespace Mapwright.Mm.Exec;

/// <summary>
/// The initial stack below the strings, as create_elf_tables() writes it: the platform string, AT_RANDOM's 16
/// bytes, then (16-byte aligned) argc, argv[], NULL, envp[], NULL and the auxiliary vector. The random bytes are
/// zeros here (the kernel's are random every exec); the other auxiliary values are this host's where they do not
/// depend on the program. Linux: fs/binfmt_elf.c create_elf_tables(), arch/x86/include/asm/elf.h ARCH_DLINFO.
/// </summary>
internal sealed class ExecTables
{
    private const ulong AtPhdr = 3, AtPhent = 4, AtPhnum = 5, AtBase = 7, AtFlags = 8, AtEntry = 9, AtPlatform = 15,
        AtRandom = 25, AtExecfn = 31, AtSysinfoEhdr = 33;

    public ExecTables(ExecStack stack, HostExecEnvironment host, Values values)
    {
        byte[] platform = System.Text.Encoding.ASCII.GetBytes(host.Platform);
        ulong p = stack.ArgStart & ~0xfUL;
        ulong platformAddr = p - (ulong)(platform.Length + 1);
        ulong randomAddr = platformAddr - 16;
        p = randomAddr;
        int auxWords = 2 * (host.Auxv.Count + 1);
        ulong sp = p - ((ulong)auxWords * 8);
        int argc = stack.Argv.Count, envc = stack.Envp.Count;
        ulong items = (ulong)(argc + 1 + envc + 1 + 1);
        StackPointer = (sp - (items * 8)) & ~0xfUL;

        byte[] image = new byte[ExecStack.StackTop - StackPointer];
        Span<byte> mem = image;
        int At(ulong addr) => (int)(addr - StackPointer);

        // The strings: argv, envp, then the path, from mm->arg_start up.
        ulong s = stack.ArgStart;
        var argvPtrs = new ulong[argc];
        var envpPtrs = new ulong[envc];
        for (int i = 0; i < argc; i++)
        {
            argvPtrs[i] = s;
            stack.Argv[i].CopyTo(mem[At(s)..]);
            s += (ulong)stack.Argv[i].Length + 1;
        }

        for (int i = 0; i < envc; i++)
        {
            envpPtrs[i] = s;
            stack.Envp[i].CopyTo(mem[At(s)..]);
            s += (ulong)stack.Envp[i].Length + 1;
        }

        stack.Path.CopyTo(mem[At(s)..]);
        platform.CopyTo(mem[At(platformAddr)..]);

        int w = 0;
        void Put(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(w * 8), value);
            w++;
        }

        Put((ulong)argc);
        foreach (ulong a in argvPtrs)
        {
            Put(a);
        }

        Put(0);
        foreach (ulong e in envpPtrs)
        {
            Put(e);
        }

        Put(0);
        foreach ((ulong type, ulong hostValue) in host.Auxv)
        {
            Put(type);
            Put(type switch
            {
                AtSysinfoEhdr => values.VdsoText,
                AtPhdr => values.PhdrAddr,
                AtPhent => (ulong)ElfProgramHeader.Size,
                AtPhnum => values.PhNum,
                AtBase => values.InterpBase,
                AtFlags => 0,
                AtEntry => values.Entry,
                AtRandom => randomAddr,
                AtExecfn => stack.ExecFn,
                AtPlatform => platformAddr,
                _ => hostValue,
            });
        }

        Put(0);
        Put(0);
        Image = image;
    }

    /// <summary>The process's first stack pointer: mm->start_stack.</summary>
    public ulong StackPointer { get; }

    /// <summary>The stack's bytes from <see cref="StackPointer"/> to the top.</summary>
    public byte[] Image { get; }

    /// <summary>The auxiliary values that depend on the program.</summary>
    public readonly record struct Values(ulong PhdrAddr, ulong PhNum, ulong InterpBase, ulong Entry, ulong VdsoText);
}
