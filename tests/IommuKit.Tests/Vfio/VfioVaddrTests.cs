using IommuKit.Linux;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.3 step 7 (MAP_FLAG_VADDR) and §1.4 step 9 (UNMAP_FLAG_VADDR).
public class VfioVaddrTests
{
    [Fact]
    public void Unmap_VADDR_invalidates_keeps_the_record_and_reports_its_size()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x1000_0000));
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr));
        VfioDma d = Assert.Single(c.Mappings);
        Assert.True(d.VaddrInvalid);
        Assert.Equal(1, c.VaddrInvalidCount);
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit - 1, c.DmaAvail);
    }

    [Fact]
    public void Map_VADDR_rebinds_an_invalidated_mapping_of_the_same_iova_and_size()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x1000_0000));
        c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr);
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x2000_0000, flags: VfioDmaMapFlags.Vaddr));
        VfioDma d = Assert.Single(c.Mappings);
        Assert.False(d.VaddrInvalid);
        Assert.Equal(0x2000_0000UL, d.Vaddr);
        Assert.Equal(0, c.VaddrInvalidCount);
    }

    [Fact]
    public void Map_VADDR_with_no_overlapping_mapping_is_ENOENT()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.ENOENT, c.Map(0x10000, 0x10000, flags: VfioDmaMapFlags.Vaddr));
    }

    [Fact]
    public void Map_VADDR_on_a_valid_mapping_is_EINVAL()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.EINVAL, c.Map(0x10000, 0x10000, vaddr: 0x5000_0000, flags: VfioDmaMapFlags.Vaddr));
        Assert.Equal(0x1000_0000UL, c.Mappings[0].Vaddr);
    }

    [Theory]
    [InlineData(0x10000UL, 0x8000UL)] // size differs
    [InlineData(0x18000UL, 0x8000UL)] // iova differs
    [InlineData(0x8000UL, 0x20000UL)] // covers more
    public void Map_VADDR_with_a_different_iova_or_size_is_EINVAL(ulong iova, ulong size)
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr);
        Assert.Equal(Errno.EINVAL, c.Map(iova, size, flags: VfioDmaMapFlags.Vaddr));
        Assert.True(c.Mappings[0].VaddrInvalid);
    }

    [Fact]
    public void Normal_map_over_an_invalidated_mapping_is_EEXIST()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr);
        Assert.Equal(Errno.EEXIST, c.Map(0x10000, 0x10000));
    }

    [Fact]
    public void Unmap_VADDR_over_an_already_invalid_mapping_is_EINVAL_and_rolls_back_this_calls_marks_only()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(0x20000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(0x30000, 0x10000));
        Assert.Equal(Errno.Ok, c.Unmap(0x20000, 0x10000, VfioDmaUnmapFlags.Vaddr).Errno); // an earlier call's mark
        var u = new VfioDmaUnmap(0x10000, 0x30000, VfioDmaUnmapFlags.Vaddr);
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(0x30000UL, u.Size); // not written back on error
        Assert.Equal([false, true, false], c.Mappings.Select(m => m.VaddrInvalid));
        Assert.Equal(1, c.VaddrInvalidCount);
    }

    [Fact]
    public void Unmap_ALL_with_VADDR_invalidates_everything()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0x11000UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All | VfioDmaUnmapFlags.Vaddr));
        Assert.All(c.Mappings, m => Assert.True(m.VaddrInvalid));
        Assert.Equal(2, c.VaddrInvalidCount);
    }

    [Fact]
    public void Unmap_VADDR_obeys_the_v2_bisect_rule()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.EINVAL, c.Unmap(0x18000, 0x8000, VfioDmaUnmapFlags.Vaddr).Errno);
        Assert.False(c.Mappings[0].VaddrInvalid);
    }

    [Fact]
    public void A_normal_unmap_removes_an_invalidated_mapping_and_its_invalid_count()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr);
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x10000, 0x10000));
        Assert.Equal(0, c.VaddrInvalidCount);
        Assert.Empty(c.Mappings);
    }
}
