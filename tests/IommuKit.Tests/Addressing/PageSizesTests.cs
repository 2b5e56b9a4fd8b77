using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

public class PageSizesTests
{
    [Fact]
    public void Smallest_largest_and_count()
    {
        Assert.Equal(0x1000UL, PageSizes.X86.Smallest);
        Assert.Equal(0x4000_0000UL, PageSizes.X86.Largest);
        Assert.Equal(3, PageSizes.X86.Count);
        Assert.Equal(0UL, new PageSizes(0).Smallest);
        Assert.Equal(0UL, new PageSizes(0).Largest);
        Assert.Equal(1UL << 63, new PageSizes(1UL << 63).Largest);
    }

    [Theory]
    [InlineData(0x0UL, 0x0UL, 0x4000_0000UL, 0x4000_0000UL)]      // everything aligned, 1G fits
    [InlineData(0x0UL, 0x0UL, 0x3fff_ffffUL, 0x20_0000UL)]        // 1G doesn't fit in remaining
    [InlineData(0x20_0000UL, 0x0UL, 0x4000_0000UL, 0x20_0000UL)]  // iova only 2M aligned
    [InlineData(0x0UL, 0x1000UL, 0x4000_0000UL, 0x1000UL)]        // pa only 4K aligned
    [InlineData(0x800UL, 0x0UL, 0x4000_0000UL, 0x0UL)]            // below the smallest page: none
    [InlineData(0x0UL, 0x0UL, 0xfffUL, 0x0UL)]                    // remaining below the smallest page: none
    [InlineData(0x8000_0000_0000_0000UL, 0x0UL, 0x4000_0000UL, 0x4000_0000UL)] // 2^63 aligned
    public void LargestFor_follows_alignment_and_remaining(ulong iova, ulong pa, ulong remaining, ulong expected)
    {
        Assert.Equal(expected, PageSizes.X86.LargestFor(iova, pa, remaining));
    }

    [Fact]
    public void LargestFor_with_2_pow_64_remaining_allows_the_largest()
    {
        Assert.Equal(1UL << 63, new PageSizes(1UL << 63 | 0x1000).LargestFor(0, 0, (UInt128)1 << 64));
        Assert.Equal(0x1000UL, new PageSizes(1UL << 63 | 0x1000).LargestFor(1UL << 62, 0, (UInt128)1 << 64));
    }

    [Fact]
    public void Of_rejects_non_powers_of_two_and_formats()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PageSizes.Of(0x1000, 0x3000));
        Assert.Equal("{4K, 2M, 1G}", PageSizes.X86.ToString());
        Assert.Equal(PageSizes.Only4K, PageSizes.X86.Intersect(PageSizes.Of(0x1000, 0x10000)));
        Assert.Equal(PageSizes.Of(0x20_0000, 0x4000_0000), PageSizes.X86.AtLeast(0x2000));
    }
}
