using Mapwright.Abi;
using Mapwright.Diagnostics;
using Mapwright.Paging;
using Xunit;

namespace Mapwright.Tests.Paging;

public sealed class PhysicalMemoryTests
{
    private static ulong HashOf(PhysicalMemory m, int frame, int offset, int len)
    {
        var fnv = new Fnv1a();
        m.Hash(frame, offset, len, ref fnv);
        return fnv.Value;
    }

    private static ulong HashOf(ReadOnlySpan<byte> bytes)
    {
        var fnv = new Fnv1a();
        fnv.Add(bytes);
        return fnv.Value;
    }

    [Fact]
    [Trait("Linux", "mm/memory.c do_anonymous_page(): a new anonymous page reads as zeros, even on a reused frame")]
    public void AReusedFrameReadsAsZeros()
    {
        var m = new PhysicalMemory();
        int f = m.Allocate();
        m.Get(f);
        m.Fill(f, 0, 4096, 0xab);
        m.Put(f);
        Assert.Equal(0, m.FramesInUse);

        int g = m.Allocate();
        Assert.Equal(f, g);
        m.Get(g);
        Assert.Equal(HashOf(new byte[4096]), HashOf(m, g, 0, 4096));
        var buf = new byte[100];
        m.CopyOut(g, 3000, buf);
        Assert.All(buf, b => Assert.Equal(0, b));
    }

    [Fact]
    [Trait("Linux", "a page reads back what was written, zeros elsewhere, whatever order the writes came in")]
    public void WritesAnywhereReadBackAroundZeros()
    {
        var m = new PhysicalMemory();
        int f = m.Allocate();
        m.Get(f);
        var expected = new byte[4096];
        foreach ((int off, int len, byte v) in new[] { (2000, 10, (byte)1), (100, 3, (byte)2), (4090, 6, (byte)3), (64, 1, (byte)4) })
        {
            m.Fill(f, off, len, v);
            expected.AsSpan(off, len).Fill(v);
        }

        var got = new byte[4096];
        m.CopyOut(f, 0, got);
        Assert.Equal(expected, got);
        Assert.Equal(HashOf(expected.AsSpan(50, 3000)), HashOf(m, f, 50, 3000));
        Assert.Equal(expected, m.Bytes(f).ToArray());
    }

    [Fact]
    [Trait("Linux", "mm/memory.c wp_page_copy(): the copy holds the page's bytes and is independent of it")]
    public void ACopyIsIndependent()
    {
        var m = new PhysicalMemory();
        int f = m.Allocate();
        m.Get(f);
        m.Fill(f, 300, 50, 9);
        int c = m.AllocateCopy(f);
        m.Get(c);
        m.Fill(f, 300, 1, 1);
        Assert.Equal(HashOf(m, c, 0, 4096), HashOf(m.Bytes(c)));
        var bytes = m.Bytes(c).ToArray();
        Assert.Equal(9, bytes[300]);
        Assert.Equal(0, bytes[299]);
        Assert.Equal(1, m.Bytes(f)[300]);
    }

    [Fact]
    [Trait("Linux", "folio_put(): the last reference frees the frame; the lowest free frame is reused first")]
    public void ReferencesFreeAndLowestIsReused()
    {
        var m = new PhysicalMemory();
        int[] frames = Enumerable.Range(0, 1000).Select(_ => m.Allocate()).ToArray();
        foreach (int f in frames)
        {
            m.Get(f);
        }

        Assert.Equal(1000, m.FramesInUse);
        m.Get(frames[10]);
        m.Put(frames[10]);
        Assert.Equal(1, m.RefCount(frames[10]));
        m.Put(frames[700]);
        m.Put(frames[10]);
        Assert.Equal(998, m.FramesInUse);
        Assert.Equal(frames[10], m.Allocate());
        Assert.Equal(frames[700], m.Allocate());
        Assert.Equal(frames[999] + 1, m.Allocate());
    }

    [Fact]
    [Trait("Linux", "folio_put() on a freed folio is a bug (VM_BUG_ON_FOLIO)")]
    public void PuttingAFreeFrameIsABug()
    {
        var m = new PhysicalMemory();
        int f = m.Allocate();
        m.Get(f);
        m.Put(f);
        Assert.Throws<KernelBugException>(() => m.Put(f));
    }

    [Fact]
    [Trait("Linux", "the zero page is never written (ZERO_PAGE is mapped read-only)")]
    public void TheZeroPageCannotBeWritten()
    {
        var m = new PhysicalMemory();
        Assert.Throws<KernelBugException>(() => m.Fill(PhysicalMemory.ZeroFrame, 0, 1, 1));
        Assert.Equal(HashOf(new byte[4096]), HashOf(m, PhysicalMemory.ZeroFrame, 0, 4096));
    }

    [Fact]
    [Trait("Linux", "folio_mapcount() is an int: a page may be mapped far more than 65535 times")]
    public void MapCountsGoPastSixteenBits()
    {
        var m = new PhysicalMemory();
        int f = m.Allocate();
        for (int i = 0; i < 70_000; i++)
        {
            m.Map(f);
        }

        Assert.Equal(70_000, m.MapCount(f));
        Assert.Equal(70_000, m.RefCount(f));
        for (int i = 0; i < 69_999; i++)
        {
            m.Unmap(f);
        }

        Assert.Equal(1, m.MapCount(f));
        m.Unmap(f);
        Assert.Equal(0, m.FramesInUse);
    }
}
