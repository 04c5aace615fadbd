using System.Globalization;
using System.Text;

namespace Mapwright.Bench;

/// <summary>
/// The replay benchmark's trace: <paramref name="vmas"/> single-page anonymous VMAs built side by side with
/// alternating protections (so none merge), then churned by mprotect (merging a page into its neighbours and
/// splitting it out again), munmap and MAP_FIXED mmap, up to <paramref name="calls"/> calls in all. Every call
/// stays inside one region far from anything a process maps by itself, so the host kernel can run the same
/// calls. Deterministic for a seed.
/// </summary>
internal static class ChurnTrace
{
    public const ulong Base = 0x200000000000;

    /// <summary>Calls (lines) in the default trace.</summary>
    public const int DefaultCalls = 260_000;

    /// <summary>VMAs the default trace builds before it churns them.</summary>
    public const int DefaultVmas = 60_000;

    public static string Generate(int calls = DefaultCalls, int vmas = DefaultVmas, int seed = 1)
    {
        var sb = new StringBuilder(calls * 72);
        var rng = new Random(seed);
        var prot = new bool[vmas];
        var mapped = new bool[vmas];
        for (int i = 0; i < vmas; i++)
        {
            prot[i] = (i & 1) == 0;
            mapped[i] = true;
            Mmap(sb, i, prot[i], noReplace: true);
        }

        for (int n = vmas; n < calls; n++)
        {
            int i = rng.Next(vmas);
            if (!mapped[i])
            {
                Mmap(sb, i, prot[i], noReplace: false);
                mapped[i] = true;
                continue;
            }

            switch (rng.Next(4))
            {
                case 0:
                    sb.Append("munmap(").Append(Hex(Addr(i))).Append(", 4096)\n");
                    mapped[i] = false;
                    break;
                case 1:
                    // Take the neighbour's protection (a merge) or back (a split).
                    prot[i] = !prot[i];
                    sb.Append("mprotect(").Append(Hex(Addr(i))).Append(", 4096, ").Append(Prot(prot[i])).Append(")\n");
                    break;
                case 2:
                    sb.Append("madvise(").Append(Hex(Addr(i))).Append(", 4096, MADV_DONTNEED)\n");
                    break;
                default:
                    sb.Append("mprotect(").Append(Hex(Addr(i))).Append(", 4096, ").Append(Prot(prot[i])).Append(")\n");
                    break;
            }
        }

        return sb.ToString();
    }

    private static ulong Addr(int i) => Base + ((ulong)i << 12);

    private static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);

    private static string Prot(bool rw) => rw ? "PROT_READ|PROT_WRITE" : "PROT_READ";

    private static void Mmap(StringBuilder sb, int i, bool rw, bool noReplace) =>
        sb.Append("mmap(").Append(Hex(Addr(i))).Append(", 4096, ").Append(Prot(rw))
          .Append(noReplace ? ", MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0)\n" : ", MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED, -1, 0)\n");
}
