using IommuKit.MemoryMap;

namespace IommuKit.Tests.Guest;

/// <summary>dma_aligned_pow2_mask chunking (reference §3.5 examples, QEMU 6.0+).</summary>
public class IommuMasksTests
{
    private const ulong Top = ulong.MaxValue;

    [Fact]
    public void Full_space_with_aw_39_is_one_block_of_mask_0x7fffffffff()
    {
        Assert.Equal([(0x0UL, 0x7f_ffff_ffffUL)], IommuMasks.AlignedPow2Blocks(0, (1UL << 39) - 1, 39));
        Assert.Equal([(0x0UL, 0xffff_ffff_ffffUL)], IommuMasks.AlignedPow2Blocks(0, (1UL << 48) - 1, 48));
    }

    [Fact]
    public void Full_space_with_64_bits_is_one_block_of_mask_2_pow_64_minus_1()
    {
        Assert.Equal(Top, IommuMasks.AlignedPow2Mask(0, Top, 64));
        Assert.Equal([(0x0UL, Top)], IommuMasks.AlignedPow2Blocks(0, Top, 64));
    }

    [Fact]
    public void Upper_section_clamped_to_aw_39_is_9_blocks()
    {
        List<(ulong Iova, ulong Mask)> blocks = IommuMasks.AlignedPow2Blocks(0xfef0_0000, (1UL << 39) - 1, 39);
        Assert.Equal(9, blocks.Count);
        Assert.Equal((0xfef0_0000UL, 0xf_ffffUL), blocks[0]);
        Assert.Equal((0xff00_0000UL, 0xff_ffffUL), blocks[1]);
        Assert.Equal((0x1_0000_0000UL, 0xffff_ffffUL), blocks[2]);
        Assert.Equal((0x2_0000_0000UL, 0x1_ffff_ffffUL), blocks[3]);
        Assert.Equal((0x40_0000_0000UL, 0x3f_ffff_ffffUL), blocks[8]);
    }

    [Fact]
    public void Upper_section_clamped_to_aw_48_is_18_blocks()
    {
        List<(ulong Iova, ulong Mask)> blocks = IommuMasks.AlignedPow2Blocks(0xfef0_0000, (1UL << 48) - 1, 48);
        Assert.Equal(18, blocks.Count);
        Assert.Equal((0x8000_0000_0000UL, 0x7fff_ffff_ffffUL), blocks[^1]);
    }

    [Fact]
    public void Lower_section_0_to_0xfedfffff_is_10_blocks()
    {
        List<(ulong Iova, ulong Mask)> blocks = IommuMasks.AlignedPow2Blocks(0, 0xfedf_ffff, 39);
        Assert.Equal(
            [
                (0x0UL, 0x7fff_ffffUL), (0x8000_0000UL, 0x3fff_ffffUL), (0xc000_0000UL, 0x1fff_ffffUL),
                (0xe000_0000UL, 0xfff_ffffUL), (0xf000_0000UL, 0x7ff_ffffUL), (0xf800_0000UL, 0x3ff_ffffUL),
                (0xfc00_0000UL, 0x1ff_ffffUL), (0xfe00_0000UL, 0x7f_ffffUL), (0xfe80_0000UL, 0x3f_ffffUL),
                (0xfec0_0000UL, 0x1f_ffffUL),
            ],
            blocks);
    }

    [Fact]
    public void Virtio_iommu_split_examples()
    {
        Assert.Equal([(0x1000UL, 0xfffUL), (0x2000UL, 0x1fffUL)], IommuMasks.AlignedPow2Blocks(0x1000, 0x3fff, 64));
        Assert.Equal([(0x0UL, 0x1fffUL), (0x2000UL, 0xfffUL)], IommuMasks.AlignedPow2Blocks(0, 0x2fff, 64));
    }
}
