using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

/// <summary><see cref="Ioas.TryFindIova"/>: user VA to IOVA kept in step with MAP, COPY, UNMAP and cuts.</summary>
public class IoasReverseLookupTests
{
    [Fact]
    public void User_va_maps_back_to_the_allocated_iova_with_its_page_offset()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Alloc(ioas, 0x7f00_0000_0123, 0x2000, out ulong iova));
        Assert.True(ioas.TryFindIova(0x7f00_0000_1000, out ulong found));
        Assert.Equal(iova + 0x1000 - 0x123, found);
        Assert.False(ioas.TryFindIova(0x7f00_0000_0122, out _));
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, iova, 0x2000, out _));
        Assert.False(ioas.TryFindIova(0x7f00_0000_1000, out _));
        Assert.Equal(0, ioas.UserVaIndex.Count);
    }

    // §2.8 COPY shares the pages: the user VA is then mapped at two IOVAs, the lowest answers.
    [Fact]
    public void Copy_maps_the_same_user_va_twice_and_the_lowest_iova_answers()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x80_0000, 0x4000, 0x7f00_0000_0000));
        ulong dst = 0x10_0000;
        Assert.Equal(Errno.Ok, fd.Copy(ioas, 0x80_0000, 0x4000, ioas, ref dst));
        Assert.True(ioas.TryFindIova(0x7f00_0000_0010, out ulong found));
        Assert.Equal(0x10_0010UL, found);
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0x10_0000, 0x4000, out _));
        Assert.True(ioas.TryFindIova(0x7f00_0000_0010, out found));
        Assert.Equal(0x80_0010UL, found);
    }

    [Fact]
    public void Full_space_native_map_at_user_va_zero_is_found_at_both_ends()
    {
        var (_, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Map(IovaRange.Full, 0, IommuKit.PageTables.Permissions.ReadWrite));
        Assert.True(ioas.TryFindIova(ulong.MaxValue, out ulong found));
        Assert.Equal(ulong.MaxValue, found);
        Assert.True(ioas.TryFindIova(0, out found));
        Assert.Equal(0UL, found);
        Assert.Equal(IovaRange.SpaceSize, ioas.UnmapAll());
        Assert.False(ioas.TryFindIova(0, out _));
    }

    // §2.9 iopt_cut_iova splits an area in two: both halves stay findable by user VA.
    [Fact]
    public void Cut_area_halves_are_both_found()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x10000, 0x4000, 0x7f00_0000_0000));
        Assert.Equal(Errno.Ok, ioas.CutIova([0x11fffUL]));
        Assert.Equal(2, ioas.AreaCount);
        Assert.Equal(2, ioas.UserVaIndex.Count);
        Assert.True(ioas.TryFindIova(0x7f00_0000_3000, out ulong found));
        Assert.Equal(0x13000UL, found);
        Assert.True(ioas.TryFindIova(0x7f00_0000_1fff, out found));
        Assert.Equal(0x11fffUL, found);
    }

    // Unmap of the whole space (IOMMU_IOAS_UNMAP of [0, 2^64-1], the compat UNMAP_ALL) clears the areas and the user-VA
    // index wholesale: no index search per area, aliases (a COPY) included, and the IOAS maps again afterwards.
    [Fact]
    public void Unmap_all_clears_the_user_va_index_without_searching_it_per_area()
    {
        var (fd, ioas) = NewIoas();
        for (ulong i = 0; i < 200; i++)
        {
            Assert.Equal(Errno.Ok, fd.MapFixed(ioas, (i * 0x10_0000) + 0x1000, 0x2000, 0x7f00_0000_0000 + (i * 0x2000)));
        }

        ulong dst = 0xf000_0000;
        Assert.Equal(Errno.Ok, fd.Copy(ioas, 0x1000, 0x2000, ioas, ref dst));
        Assert.Equal(1, ioas.UserVaIndex.AliasCount);
        ioas.UserVaIndex.ResetCounters();

        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0, U64Max, out ulong unmapped));
        Assert.Equal(201UL * 0x2000, unmapped);
        Assert.Equal(0, ioas.UserVaIndex.NodesVisited);
        Assert.Equal(0, ioas.UserVaIndex.Count);
        Assert.Equal(0, ioas.AreaCount);
        Assert.False(ioas.TryFindIova(0x7f00_0000_0000, out _));

        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x1000, 0x2000, 0x7f00_0000_0000));
        Assert.True(ioas.TryFindIova(0x7f00_0000_0010, out ulong iova));
        Assert.Equal(0x1010UL, iova);
    }
}
