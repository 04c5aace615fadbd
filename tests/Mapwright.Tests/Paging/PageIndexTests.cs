using CsCheck;
using Mapwright.Paging;
using Xunit;

namespace Mapwright.Tests.Paging;

public sealed class PageIndexTests
{
    [Fact]
    [Trait("Linux", "page tables: every present entry found again, every cleared entry gone (open addressing with backward-shift deletion)")]
    public void RandomOperationsAgreeWithADictionary()
    {
        // Keys crowd a few groups (dense runs and collisions) so that probe runs wrap and deletions shift.
        Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 300], Gen.UInt).Array[1, 600].Sample(ops =>
        {
            var index = new PageIndex();
            var model = new Dictionary<ulong, uint>();
            foreach ((int op, ulong k, uint v) in ops)
            {
                ulong key = (k % 3 == 0) ? k * 0x10001 : k;
                switch (op)
                {
                    case 0:
                        index.GetOrAdd(key, out bool existed) = v;
                        Assert.Equal(model.ContainsKey(key), existed);
                        model[key] = v;
                        break;
                    case 1:
                        Assert.Equal(model.Remove(key, out uint mv), index.Remove(key, out uint iv));
                        Assert.Equal(mv, iv);
                        break;
                    default:
                        Assert.Equal(model.TryGetValue(key, out uint want), index.TryGetValue(key, out uint got));
                        Assert.Equal(want, got);
                        break;
                }
            }

            Assert.Equal(model.Count, index.Count);
            foreach ((ulong key, uint v) in model)
            {
                Assert.True(index.TryGetValue(key, out uint got));
                Assert.Equal(v, got);
            }

            var keys = new List<ulong>();
            index.CollectKeys(0, ulong.MaxValue - 1, keys);
            Assert.Equal(model.Keys.Order(), keys.Order());
            keys.Clear();
            index.CollectKeys(50, 120, keys);
            Assert.Equal(model.Keys.Where(k => k >= 50 && k < 120).Order(), keys.Order());
        }, iter: 300);
    }

    [Fact]
    [Trait("Linux", "page tables: a million sequential entries stay reachable across growth")]
    public void AMillionSequentialPagesGrowAndShrink()
    {
        var index = new PageIndex();
        const ulong first = 0x7f0000000;
        for (ulong i = 0; i < 1_000_000; i++)
        {
            index.GetOrAdd(first + i, out _) = (uint)i;
        }

        Assert.Equal(1_000_000, index.Count);
        Assert.True(index.TryGetValue(first + 777_777, out uint v) && v == 777_777);
        // 12-byte slots at most 80% full: between 15 and 30 bytes per entry.
        Assert.InRange(index.Bytes / index.Count, 15, 30);
        for (ulong i = 0; i < 1_000_000; i += 2)
        {
            Assert.True(index.Remove(first + i, out _));
        }

        Assert.Equal(500_000, index.Count);
        Assert.False(index.TryGetValue(first + 2, out _));
        Assert.True(index.TryGetValue(first + 3, out v) && v == 3);
    }
}
