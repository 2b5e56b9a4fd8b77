using IommuKit.Linux;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

/// <summary><see cref="VfioContainer.TryFindIova"/>: vaddr to IOVA kept in step with MAP, UNMAP and the VADDR flags.</summary>
public class VfioReverseLookupTests
{
    [Fact]
    public void Vaddr_maps_back_to_its_iova_until_unmapped()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x1000_0000));
        Assert.Equal(Errno.Ok, c.Map(LastPage, P, vaddr: 0x2000_0000));
        Assert.True(c.TryFindIova(0x1000_5678, out ulong iova));
        Assert.Equal(0x15678UL, iova);
        Assert.True(c.TryFindIova(0x2000_0fff, out iova));
        Assert.Equal(Top, iova);
        Assert.False(c.TryFindIova(0x1001_0000, out _));

        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x10000, 0x10000));
        Assert.False(c.TryFindIova(0x1000_5678, out _));
        var all = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        Assert.Equal(Errno.Ok, c.UnmapDma(ref all));
        Assert.False(c.TryFindIova(0x2000_0000, out _));
        Assert.Equal(0, c.VaddrIndex.Count);
    }

    // §1.3/§1.4 VADDR flags: an invalidated vaddr maps nothing; the new vaddr maps the same IOVA.
    [Fact]
    public void Invalidated_vaddr_is_not_found_and_the_rebound_one_is()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x1000_0000));
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x10000, 0x10000, VfioDmaUnmapFlags.Vaddr));
        Assert.False(c.TryFindIova(0x1000_0000, out _));
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x3000_0000, flags: VfioDmaMapFlags.Vaddr));
        Assert.True(c.TryFindIova(0x3000_0010, out ulong iova));
        Assert.Equal(0x10010UL, iova);

        // Unmapping a record whose vaddr was rebound leaves the index empty.
        Assert.Equal((Errno.Ok, 0x10000UL), c.Unmap(0x10000, 0x10000));
        Assert.Equal(0, c.VaddrIndex.Count);
    }

    [Fact]
    public void One_buffer_mapped_twice_answers_the_lowest_iova()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x80000, 0x4000, vaddr: 0x1000_0000));
        Assert.Equal(Errno.Ok, c.Map(0x20000, 0x4000, vaddr: 0x1000_0000));
        Assert.True(c.TryFindIova(0x1000_0004, out ulong iova));
        Assert.Equal(0x20004UL, iova);
        Assert.Equal((Errno.Ok, 0x4000UL), c.Unmap(0x20000, 0x4000));
        Assert.True(c.TryFindIova(0x1000_0004, out iova));
        Assert.Equal(0x80004UL, iova);
    }
}
