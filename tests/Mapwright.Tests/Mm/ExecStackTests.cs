using Mapwright.Abi;
using Mapwright.Mm.Exec;
using Xunit;

namespace Mapwright.Tests.Mm;

public sealed class ExecStackTests
{
    private const ulong EightMiB = 8UL << 20;

    [Fact]
    [Trait("Linux", "fs/exec.c setup_arg_pages(): a stack whose strings fit one page spans that page plus 128 KiB")]
    public void SmallStringsGiveOnePagePlus128KiB()
    {
        Assert.Equal(Errno.None, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true"], ["A=B"]), EightMiB, out ExecStack? stack));
        Assert.Equal(0x7ffffffde000UL, stack!.VmaStartAfterSetup(EightMiB));
        // The strings sit right below the top's 8 bytes: argv, envp, then the path.
        Assert.Equal(0x7ffffffff000UL - 8 - 10 - 4 - 5, stack.ArgStart);
        Assert.Equal(0x7ffffffff000UL - 8 - 10, stack.ExecFn);
    }

    [Fact]
    [Trait("Linux", "fs/exec.c do_execveat_common(): an empty argv gets \"\" as argv[0]")]
    public void EmptyArgvGetsAnEmptyArgZero()
    {
        Assert.Equal(Errno.None, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", [], []), EightMiB, out ExecStack? stack));
        Assert.Single(stack!.Argv);
        Assert.Empty(stack.Argv[0]);
    }

    [Fact]
    [Trait("Linux", "fs/exec.c valid_arg_len(): one string (with its NUL) may take MAX_ARG_STRLEN = 32 pages, not more")]
    public void OneStringMayTake32Pages()
    {
        Assert.Equal(Errno.None, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true", new string('a', (32 * 4096) - 1)], []), EightMiB, out _));
        Assert.Equal(Errno.E2BIG, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true", new string('a', 32 * 4096)], []), EightMiB, out _));
    }

    [Fact]
    [Trait("Linux", "fs/exec.c bprm_stack_limits(): strings and pointers may take a quarter of the stack limit (at least ARG_MAX)")]
    public void StringsMayTakeAQuarterOfTheStackLimit()
    {
        var env = new List<string>();
        for (int i = 0; i < 20; i++)
        {
            env.Add(new string('e', 110_000));
        }

        Assert.Equal(Errno.E2BIG, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true"], env), EightMiB, out _));
        Assert.Equal(Errno.None, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true"], env), 4 * EightMiB, out _));
        // A small stack limit still allows ARG_MAX (128 KiB) of strings.
        Assert.Equal(Errno.None, ExecStack.Copy(ExecRequest.FromStrings("/bin/true", ["true"], [new string('e', 100_000)]), 64 * 1024, out _));
    }
}
