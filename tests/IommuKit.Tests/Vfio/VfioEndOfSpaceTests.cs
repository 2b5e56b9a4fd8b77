using IommuKit.Linux;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.6: mappings ending at U64_MAX work from v6.18-rc4 (inclusive ends everywhere).
public class VfioEndOfSpaceTests
{
    [Fact]
    public void Last_page_mapping_can_be_made()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(LastPage, P, vaddr: 0x1000));
        Assert.Equal([R(LastPage, Top)], c.Ranges());
    }

    [Fact]
    public void Last_page_mapping_is_found_by_overlap_EEXIST()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal(Errno.EEXIST, c.Map(LastPage, P));
        Assert.Equal(Errno.EEXIST, c.Map(0xffff_ffff_ffff_0000, 0x10000));
    }

    [Fact]
    public void Last_page_mapping_is_found_by_the_v2_bisect_checks()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0xffff_ffff_fff0_0000, 0x10_0000));
        Assert.Equal(Errno.EINVAL, c.Unmap(LastPage, P).Errno); // starts inside
        Assert.Equal(Errno.EINVAL, c.Unmap(0xffff_ffff_ffe0_0000, 0x10_1000).Errno); // ends inside
        Assert.Single(c.Mappings);
    }

    [Fact]
    public void Unmap_of_the_last_page_reports_0x1000_and_removes_it()
    {
        // Pre-fix kernels returned success with size 0 here and leaked the pins.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0x1000UL), c.Unmap(LastPage, P));
        Assert.Empty(c.Mappings);
    }

    [Fact]
    public void Unmap_all_removes_a_last_page_mapping_even_when_it_is_the_only_one()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal((Errno.Ok, 0x1000UL), c.Unmap(0, 0, VfioDmaUnmapFlags.All));
        Assert.Empty(c.Mappings);
    }

    [Fact]
    public void V1_unmap_of_a_range_ending_at_U64_MAX_removes_the_top_mapping()
    {
        VfioContainer c = Container(VfioIommuType.Type1);
        Assert.Equal(Errno.Ok, c.Map(0xffff_ffff_ffff_0000, 0x10000));
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0xffff_ffff_fff0_0000, 0x10_0000));
        Assert.Empty(c.Mappings);
    }
}
