using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

public class IovaRangeTests
{
    private const ulong Top = ulong.MaxValue;
    private static readonly UInt128 TwoTo64 = (UInt128)1 << 64;

    [Fact]
    public void Full_is_an_ordinary_value_of_size_2_pow_64()
    {
        IovaRange full = IovaRange.Full;
        Assert.Equal(0UL, full.First);
        Assert.Equal(Top, full.Last);
        Assert.Equal(TwoTo64, full.Size);
        Assert.Equal(TwoTo64, full.End);
        Assert.True(full.IsFull);
        Assert.Equal(full, IovaRange.FromStartSize(0, TwoTo64));
        Assert.Equal(full, IovaRange.FromFirstLast(0, Top));
    }

    [Fact]
    public void Qemu_devel_2016_section_of_size_2_pow_64_at_0_keeps_its_size_and_end()
    {
        // The vfio region_add overflow: an IOMMU region initialised with UINT64_MAX is 2^64 bytes. Its size
        // must not wrap to 0 and its inclusive end must be 0xffff_ffff_ffff_ffff.
        IovaRange section = IovaRange.FromStartSize(0, TwoTo64);
        Assert.NotEqual(UInt128.Zero, section.Size);
        Assert.Equal(0xffff_ffff_ffff_ffffUL, section.Last);
    }

    [Fact]
    public void Qemu_devel_2016_two_ranges_split_at_the_top_page()
    {
        IovaRange low = IovaRange.FromFirstLast(0, 0xffff_ffff_ffff_efff);
        IovaRange high = IovaRange.FromFirstLast(0xffff_ffff_ffff_f000, 0xffff_ffff_ffff_ffff);
        Assert.Equal(TwoTo64 - 0x1000, low.Size);
        Assert.Equal((UInt128)0x1000, high.Size);
        Assert.True(low.IsFollowedBy(high));
        Assert.False(low.Overlaps(high));
        Assert.Equal(TwoTo64, low.Size + high.Size);
        Assert.Equal(TwoTo64, high.End);
        var (below, above) = IovaRange.Full.Subtract(high);
        Assert.Equal(low, below);
        Assert.Null(above);
    }

    [Theory]
    [InlineData(0UL, 0UL)]
    [InlineData(Top, Top)]
    [InlineData(0x8000_0000_0000_0000UL, Top)]
    public void Single_and_top_ranges_have_exact_sizes(ulong first, ulong last)
    {
        IovaRange r = IovaRange.FromFirstLast(first, last);
        Assert.Equal((UInt128)last - first + 1, r.Size);
    }

    [Fact]
    public void FromFirstLast_rejects_last_below_first()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => IovaRange.FromFirstLast(0x2000, 0x1fff));
        Assert.Contains("0x1fff", ex.Message, StringComparison.Ordinal);
        Assert.False(IovaRange.TryFromFirstLast(1, 0, out _));
    }

    [Fact]
    public void FromStartSize_rejects_zero_and_overflow_past_2_pow_64()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IovaRange.FromStartSize(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => IovaRange.FromStartSize(1, TwoTo64));
        Assert.Throws<ArgumentOutOfRangeException>(() => IovaRange.FromStartSize(0xffff_ffff_ffff_f000, 0x1001));
        Assert.True(IovaRange.TryFromStartSize(0xffff_ffff_ffff_f000, 0x1000, out IovaRange top));
        Assert.Equal(Top, top.Last);
        Assert.True(IovaRange.TryFromStartSize(Top, 1, out IovaRange last));
        Assert.Equal(Top, last.First);
        Assert.False(IovaRange.TryFromStartSize(Top, 2, out _));
    }

    [Fact]
    public void Contains_overlaps_and_intersect_at_the_edges()
    {
        IovaRange a = IovaRange.FromFirstLast(0x1000, 0x1fff);
        Assert.True(a.Contains(0x1000UL));
        Assert.True(a.Contains(0x1fffUL));
        Assert.False(a.Contains(0x2000UL));
        Assert.False(a.Contains(0xfffUL));
        Assert.True(IovaRange.Full.Contains(a));
        Assert.True(IovaRange.Full.Contains(Top));
        Assert.True(a.Overlaps(IovaRange.FromFirstLast(0x1fff, 0x1fff)));
        Assert.False(a.Overlaps(IovaRange.FromFirstLast(0x2000, Top)));
        Assert.True(a.TryIntersect(IovaRange.FromFirstLast(0x1800, Top), out IovaRange i));
        Assert.Equal(IovaRange.FromFirstLast(0x1800, 0x1fff), i);
        Assert.False(a.TryIntersect(IovaRange.FromFirstLast(0x2000, 0x2000), out _));
        Assert.True(IovaRange.Full.TryIntersect(IovaRange.Full, out IovaRange f));
        Assert.True(f.IsFull);
    }

    [Fact]
    public void Subtract_gives_zero_one_or_two_pieces()
    {
        IovaRange a = IovaRange.FromFirstLast(0x1000, 0x4fff);
        Assert.Equal((null, null), ToTuple(a.Subtract(IovaRange.Full)));
        Assert.Equal((IovaRange.FromFirstLast(0x1000, 0x1fff), IovaRange.FromFirstLast(0x3000, 0x4fff)),
            ToTuple(a.Subtract(IovaRange.FromFirstLast(0x2000, 0x2fff))));
        Assert.Equal((a, null), ToTuple(a.Subtract(IovaRange.FromFirstLast(0x5000, 0x5000))));

        var (below, above) = IovaRange.Full.Subtract(IovaRange.FromFirstLast(0, 0));
        Assert.Null(below);
        Assert.Equal(IovaRange.FromFirstLast(1, Top), above);
        (below, above) = IovaRange.Full.Subtract(IovaRange.FromFirstLast(Top, Top));
        Assert.Equal(IovaRange.FromFirstLast(0, Top - 1), below);
        Assert.Null(above);

        static (IovaRange?, IovaRange?) ToTuple((IovaRange? Below, IovaRange? Above) t) => (t.Below, t.Above);
    }

    [Fact]
    public void Outward_alignment_at_the_top_never_overflows()
    {
        IovaRange r = IovaRange.FromFirstLast(Top - 4096 + 2, Top); // [2^64-4096+1, 2^64-1]
        Assert.Equal(IovaRange.FromFirstLast(Top - 4095, Top), r.AlignOutward(4096));
        Assert.Equal(IovaRange.FromFirstLast(1UL << 63, Top), IovaRange.FromFirstLast(Top, Top).AlignOutward(1UL << 63));
        Assert.Equal(IovaRange.Full, IovaRange.FromFirstLast(1, Top - 1).AlignOutward(1UL << 63));
        Assert.Equal(IovaRange.FromFirstLast(0x1000, 0x2fff), IovaRange.FromFirstLast(0x1001, 0x2001).AlignOutward(0x1000));
    }

    [Fact]
    public void Inward_alignment_that_leaves_nothing_is_empty_not_an_exception()
    {
        Assert.False(IovaRange.FromFirstLast(0x1001, 0x1fff).TryAlignInward(0x1000, out _));
        Assert.False(IovaRange.FromFirstLast(Top - 4094, Top).TryAlignInward(0x1000, out _)); // [2^64-4095, 2^64-1]
        Assert.True(IovaRange.FromFirstLast(Top - 4095, Top).TryAlignInward(0x1000, out IovaRange topPage));
        Assert.Equal(IovaRange.FromFirstLast(0xffff_ffff_ffff_f000, Top), topPage);
        Assert.True(IovaRange.FromFirstLast(0x1001, 0x3000).TryAlignInward(0x1000, out IovaRange mid));
        Assert.Equal(IovaRange.FromFirstLast(0x2000, 0x2fff), mid);
        Assert.True(IovaRange.Full.TryAlignInward(1UL << 63, out IovaRange full));
        Assert.True(full.IsFull);
        Assert.True(IovaRange.FromFirstLast(1, Top).TryAlignInward(1UL << 63, out IovaRange upper));
        Assert.Equal(IovaRange.FromFirstLast(1UL << 63, Top), upper);
        Assert.False(IovaRange.FromFirstLast(1, Top - 1).TryAlignInward(1UL << 63, out _));
    }

    [Fact]
    public void IsAligned_uses_the_inclusive_end()
    {
        Assert.True(IovaRange.Full.IsAligned(0x1000));
        Assert.True(IovaRange.FromFirstLast(0xffff_ffff_ffff_f000, Top).IsAligned(0x1000));
        Assert.False(IovaRange.FromFirstLast(0xffff_ffff_ffff_f000, Top - 1).IsAligned(0x1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => IovaRange.Full.IsAligned(3));
    }

    [Fact]
    public void Chunks_pick_the_largest_page_alignment_allows()
    {
        // [0x1000, 0x80200fff] at pa 0x1000: 4K pages up to 2M, 2M pages up to 1G, one 1G page, 2M, then one 4K.
        IovaRange r = IovaRange.FromFirstLast(0x1000, 0x8020_0fff);
        var chunks = new List<IovaChunk>();
        foreach (IovaChunk c in r.Chunks(PageSizes.X86, 0x1000))
        {
            chunks.Add(c);
        }

        Assert.Equal(511 + 511 + 1 + 1 + 1, chunks.Count);
        Assert.Equal(new IovaChunk(0x1000, 0x1000, 0x1000), chunks[0]);
        Assert.Equal(new IovaChunk(0x20_0000, 0x20_0000, 0x20_0000), chunks[511]);
        Assert.Equal(new IovaChunk(0x4000_0000, 0x4000_0000, 0x4000_0000), chunks[1022]);
        Assert.Equal(new IovaChunk(0x8000_0000, 0x20_0000, 0x8000_0000), chunks[^2]);
        Assert.Equal(new IovaChunk(0x8020_0000, 0x1000, 0x8020_0000), chunks[^1]);
        UInt128 total = 0;
        foreach (IovaChunk c in chunks)
        {
            total += c.Size;
        }

        Assert.Equal(r.Size, total);
    }

    [Fact]
    public void Chunks_of_the_full_space_are_1G_pages_and_stop_at_the_top()
    {
        // 2^64 / 2^30 = 2^34 chunks: only count the first few and check the enumerator ends exactly at the top page.
        IovaRange top = IovaRange.FromFirstLast(0xffff_ffff_c000_0000, Top);
        var chunks = new List<IovaChunk>();
        foreach (IovaChunk c in top.Chunks(PageSizes.X86, 0xffff_ffff_c000_0000))
        {
            chunks.Add(c);
        }

        Assert.Single(chunks);
        Assert.Equal(Top, chunks[0].Range.Last);
    }

    [Fact]
    public void Chunks_follow_pa_alignment_too()
    {
        // IOVA 2M aligned but pa only 4K aligned: every chunk is 4K.
        IovaRange r = IovaRange.FromStartSize(0x20_0000, 0x20_0000);
        Assert.Equal(512, r.Chunks(PageSizes.X86, 0x1000).Count());
        Assert.Equal(1, r.Chunks(PageSizes.X86, 0x40_0000).Count());
        Assert.Throws<ArgumentException>(() => IovaRange.FromStartSize(0x800, 0x1000).Chunks(PageSizes.X86));
    }

    [Fact]
    public void ToString_is_hex_inclusive()
    {
        Assert.Equal("[0x0, 0xffffffffffffffff]", IovaRange.Full.ToString());
    }
}
