using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.4: VFIO_IOMMU_UNMAP_DMA checks in order, v1 vs v2.
public class VfioUnmapTests
{
    private static VfioContainer ThreeMaps(VfioIommuType type)
    {
        VfioContainer c = Container(type);
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(0x20000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(0x40000, 0x10000));
        return c;
    }

    [Fact]
    public void Step1_argsz_below_24_or_unknown_flags_is_EINVAL_and_size_is_not_written()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        var u = new VfioDmaUnmap(0x10000, 0x10000) { Argsz = 23 };
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(0x10000UL, u.Size);
        u = new VfioDmaUnmap(0x10000, 0x10000, (VfioDmaUnmapFlags)8);
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(3, c.MappingCount);
    }

    [Theory]
    [InlineData(VfioDmaUnmapFlags.GetDirtyBitmap | VfioDmaUnmapFlags.All)]
    [InlineData(VfioDmaUnmapFlags.GetDirtyBitmap | VfioDmaUnmapFlags.Vaddr)]
    public void Step1_GET_DIRTY_BITMAP_with_ALL_or_VADDR_is_EINVAL(VfioDmaUnmapFlags flags)
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        var u = new VfioDmaUnmap(0, 0, flags, VfioBitmap.Allocate(P, 64));
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(3, c.MappingCount);
    }

    [Fact]
    public void Step5_unaligned_iova_is_EINVAL()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EINVAL, c.Unmap(0x10800, 0x1000).Errno);
    }

    [Fact]
    public void Step6_size_zero_or_unaligned_is_EINVAL()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EINVAL, c.Unmap(0x10000, 0).Errno);
        Assert.Equal(Errno.EINVAL, c.Unmap(0x10000, 0x10800).Errno);
        Assert.Equal(3, c.MappingCount);
    }

    [Fact]
    public void Step6_wrap_is_EOVERFLOW()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EOVERFLOW, c.Unmap(LastPage, 2 * P).Errno);
        Assert.Equal(Errno.EOVERFLOW, c.Unmap(2 * P, Top & ~0xfffUL).Errno);
    }

    [Fact]
    public void Step8_v2_rejects_a_range_starting_inside_a_mapping()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EINVAL, c.Unmap(0x11000, 0x100000).Errno);
        Assert.Equal(3, c.MappingCount);
    }

    [Fact]
    public void Step8_v2_rejects_a_range_ending_inside_a_mapping_before_removing_anything()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        // Covers the first mapping fully, then bisects the second: nothing is removed.
        Assert.Equal(Errno.EINVAL, c.Unmap(0x10000, 0x11000).Errno);
        Assert.Equal([R(0x10000, 0x1ffff), R(0x20000, 0x2ffff), R(0x40000, 0x4ffff)], c.Ranges());
    }

    [Fact]
    public void V2_unmap_covering_whole_mappings_reports_their_total()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal((Errno.Ok, 0x20000UL), c.Unmap(0x10000, 0x30000)); // gap [0x30000, 0x3ffff] is fine
        Assert.Equal([R(0x40000, 0x4ffff)], c.Ranges());
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit - 1, c.DmaAvail);
    }

    [Fact]
    public void Step10_a_range_covering_nothing_succeeds_with_size_0_in_v1_and_v2()
    {
        foreach (VfioIommuType t in new[] { VfioIommuType.Type1, VfioIommuType.Type1v2 })
        {
            VfioContainer c = ThreeMaps(t);
            Assert.Equal((Errno.Ok, 0UL), c.Unmap(0x30000, 0x10000));
            Assert.Equal((Errno.Ok, 0UL), c.Unmap(0x1_0000_0000, P));
            Assert.Equal(3, c.MappingCount);
        }
    }

    [Fact]
    public void Step9_v1_a_first_mapping_starting_below_iova_stops_the_walk_with_0_bytes()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1);
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(0x11000, 0x100000));
        Assert.Equal(3, c.MappingCount);
    }

    [Fact]
    public void Step9_v1_removes_whole_mappings_whose_first_byte_is_inside_and_may_report_more_than_asked()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1);
        Assert.Equal((Errno.Ok, 0x20000UL), c.Unmap(0x10000, 0x11000)); // asked 0x11000, got both whole mappings
        Assert.Equal([R(0x40000, 0x4ffff)], c.Ranges());
    }

    [Fact]
    public void Step9_v1_a_single_page_at_a_mapping_start_removes_the_whole_mapping()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1);
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x40000, P));
        Assert.Equal(2, c.MappingCount);
    }

    [Fact]
    public void Step6_ALL_with_nonzero_iova_or_size_is_EINVAL()
    {
        VfioContainer c = ThreeMaps(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EINVAL, c.Unmap(0, P, VfioDmaUnmapFlags.All).Errno);
        Assert.Equal(Errno.EINVAL, c.Unmap(P, 0, VfioDmaUnmapFlags.All).Errno);
        Assert.Equal(3, c.MappingCount);
    }

    [Theory]
    [InlineData(VfioIommuType.Type1)]
    [InlineData(VfioIommuType.Type1v2)]
    public void ALL_removes_every_mapping_and_reports_the_total(VfioIommuType type)
    {
        VfioContainer c = ThreeMaps(type);
        Assert.Equal((Errno.Ok, 0x30000UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Empty(c.Mappings);
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit, c.DmaAvail);
        Assert.Equal((Errno.Ok, 0UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
    }

    [Fact]
    public void ALL_of_mappings_covering_2_pow_64_bytes_reports_0_in_the_u64_field_and_2_pow_64_wide()
    {
        // §5 inference: the reported u64 sum wraps to 0; IommuKit also returns the exact UInt128 total.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0, 0x8000_0000_0000_0000, vaddr: 0));
        Assert.Equal(Errno.Ok, c.Map(0x8000_0000_0000_0000, 0x8000_0000_0000_0000, vaddr: 0));
        var u = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        Assert.Equal(Errno.Ok, c.UnmapDma(ref u, out UInt128 wide));
        Assert.Equal(0UL, u.Size);
        Assert.Equal(IovaRange.SpaceSize, wide);
        Assert.Empty(c.Mappings);
    }

    [Fact]
    public void Halves_of_2_pow_63_fail_in_v2_when_a_mapping_straddles_2_pow_63_but_ALL_works()
    {
        // §5: QEMU's old two-halves workaround bisects a straddling mapping under v2 rules.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x7fff_ffff_ffff_0000, 0x20000, vaddr: 0));
        Assert.Equal(Errno.EINVAL, c.Unmap(0, 0x8000_0000_0000_0000).Errno);
        Assert.Equal(Errno.EINVAL, c.Unmap(0x8000_0000_0000_0000, 0x8000_0000_0000_0000).Errno);
        Assert.Equal((Errno.Ok, 0x20000UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
    }
}
