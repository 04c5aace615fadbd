using System.Diagnostics;
using System.Text;
using Mapwright.Trace.Parsing;
using Xunit;

namespace Mapwright.Tests.Trace;

public sealed class TraceParserRobustnessTests
{
    private const string Rule = "trace-format.md: Lines (malformed input is an error, never a crash)";

    private static readonly string[] s_validLines =
    [
        "12345 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7ffff7fc3000",
        "[pid 7] openat(AT_FDCWD, \"/etc/ld.so.cache\", O_RDONLY|O_CLOEXEC) = 3 <0.000010>",
        "fstat(3, {st_mode=S_IFREG|0644, st_size=27046, ...}) = 0",
        "read(3, \"\\177ELF\\2\\1\\1\\3\\0\\0\\0\\0\\0\\0\\0\\0\\3\\0>\\0\\1\\0\\0\\0P\\237\\2\\0\\0\\0\\0\\0\"..., 832) = 832",
        "execve(\"/bin/true\", [\"/bin/true\"], 0x7ffe3a9d1e28 /* 20 vars */) = 0",
        "munmap(0x7ffff7fbc000, 27046) = -1 EINVAL (Invalid argument)",
        "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_HUGETLB|21<<MAP_HUGE_SHIFT, 3</tmp/x>, 0) = ?",
        "123 mmap(NULL, 4096, PROT_READ <unfinished ...>",
        "123 <... mmap resumed>, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000",
        "peek(0x1000, 16) = SIGSEGV",
        "fcntl(3, F_GETFL) = 0x8002 (flags O_RDWR|O_LARGEFILE)",
        "+++ exited with 0 +++",
        "--- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---",
    ];

    [Fact]
    [Trait("Rule", "issue 8: a diagnostic is one readable line: control characters of a binary file are escaped")]
    public void DiagnosticsOfBinaryInputEscapeControlCharacters()
    {
        var doc = TraceParser.Parse("\u001b[31mgarbage\u0007\u0000x\n", "bin.trace");
        TraceDiagnostic error = Assert.Single(doc.Errors);
        Assert.Equal("bin.trace:1: not a call: '\\x1b[31mgarbage\\x07\\x00x'", error.ToString());
        Assert.DoesNotContain(error.ToString(), char.IsControl);
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void EveryTruncationOfValidLinesParsesWithoutThrowing()
    {
        foreach (string line in s_validLines)
        {
            for (int length = 0; length <= line.Length; length++)
            {
                string prefix = line[..length];
                var doc = TraceParser.Parse(prefix, "t.trace");
                Assert.NotNull(doc);

                // Truncations glued together also exercise unfinished/resumed pairing.
                TraceParser.Parse(string.Join('\n', s_validLines) + "\n" + prefix + "\n" + line[length..], "t.trace");
            }
        }
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void RandomGarbageParsesWithoutThrowing()
    {
        const string alphabet = "abcmapz_MAP_PROT|()[]{}<>\"\\,.=?-+0123456789xX \t#/*EN\r\n'`~!@$%^&;:";
        var random = new Random(20240611);
        var sb = new StringBuilder();
        for (int round = 0; round < 3000; round++)
        {
            sb.Clear();
            int length = random.Next(0, 120);
            for (int k = 0; k < length; k++)
            {
                sb.Append(alphabet[random.Next(alphabet.Length)]);
            }

            var doc = TraceParser.Parse(sb.ToString(), "fuzz.trace");
            Assert.All(doc.Errors, e => Assert.False(string.IsNullOrEmpty(e.Message)));
        }
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void RandomMutationsOfValidLinesParseWithoutThrowing()
    {
        const string inserts = "()[]{}\"\\,|<>=?*/ \0\uffff\ud800";
        var random = new Random(7);
        for (int round = 0; round < 5000; round++)
        {
            char[] line = s_validLines[random.Next(s_validLines.Length)].ToCharArray();
            int edits = random.Next(1, 4);
            for (int e = 0; e < edits; e++)
            {
                line[random.Next(line.Length)] = inserts[random.Next(inserts.Length)];
            }

            TraceParser.Parse(new string(line), "fuzz.trace");
        }
    }

    [Fact]
    [Trait("Rule", Rule)]
    public void DeepNestingAndHugeLinesParseWithoutThrowing()
    {
        var deep = TraceParser.Parse("fstat(3, " + new string('{', 100_000) + new string('}', 100_000) + ") = 0", "t.trace");
        Assert.Empty(deep.Errors);

        var unclosed = TraceParser.Parse("fstat(3, " + new string('[', 100_000), "t.trace");
        Assert.Equal("t.trace:1: unbalanced bracket", Assert.Single(unclosed.Errors).ToString());

        var escapes = TraceParser.Parse("openat(AT_FDCWD, \"" + string.Concat(Enumerable.Repeat("\\377", 50_000)) + "\\\", O_RDONLY)", "t.trace");
        Assert.Single(escapes.Errors);
    }

    [Fact]
    [Trait("Rule", "trace-format.md: Lines (the whole trace is read first)")]
    public void AMegabyteTraceParsesWellUnderASecond()
    {
        var sb = new StringBuilder();
        int n = 0;
        while (sb.Length < 1 << 20)
        {
            sb.Append(s_validLines[n % s_validLines.Length]).Append('\n');
            n++;
        }

        string text = sb.ToString();
        TraceParser.Parse(text[..10_000], "warmup.trace");

        var watch = Stopwatch.StartNew();
        var doc = TraceParser.Parse(text, "big.trace");
        watch.Stop();

        Assert.Empty(doc.Errors);
        Assert.True(doc.Calls.Count > 10_000);
        Assert.True(watch.ElapsedMilliseconds < 1000, $"{watch.ElapsedMilliseconds} ms");
    }
}
