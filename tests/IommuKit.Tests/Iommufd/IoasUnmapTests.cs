using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasUnmapTests
{
    // linux-vfio-iommufd.md §2.5: (0, U64_MAX) is unmap-all and succeeds on an empty IOAS with length 0.
    [Fact]
    public void UnmapAll_EmptyIoas_OkLengthZero()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0, U64Max, out ulong unmapped));
        Assert.Equal(0UL, unmapped);
    }

    // §2.5: unmap-all removes every area and reports the bytes.
    [Fact]
    public void UnmapAll_RemovesEverything_ReportsBytes()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        fd.MapFixed(ioas, 0x10_0000, 0x3000, 0);
        fd.MapFixed(ioas, 0xFFFF_FFFF_FFFF_F000, 0x1000, 0);
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0, U64Max, out ulong unmapped));
        Assert.Equal(0x5000UL, unmapped);
        Assert.Empty(ioas.Mappings);
    }

    // §2.5: the sentinel is exactly (0, U64_MAX): iova=1, length=U64_MAX is EOVERFLOW, not "all".
    [Fact]
    public void Unmap_Iova1LengthU64Max_Eoverflow()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        Assert.Equal(Errno.EOVERFLOW, fd.Unmap(ioas, 1, U64Max, out _));
        Assert.Equal(Errno.EOVERFLOW, fd.Unmap(ioas, U64Max, 1, out _));
        Assert.Single(ioas.Mappings);
    }

    // §2.5: length 0 is EINVAL; iova + length - 1 overflowing is EOVERFLOW.
    [Fact]
    public void Unmap_LengthZeroEinval_EndOverflowEoverflow()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EINVAL, fd.Unmap(ioas, 0x1000, 0, out _));
        Assert.Equal(Errno.EOVERFLOW, fd.Unmap(ioas, 0xFFFF_FFFF_FFFF_F000, 0x2000, out _));
    }

    // §2.5: the IOAS id is looked up first: a bad id is ENOENT even for the sentinel.
    [Fact]
    public void Unmap_BadIoasId_Enoent()
    {
        var (fd, _) = NewIoas();
        var cmd = new IommuIoasUnmap { IoasId = 77, Iova = 0, Length = U64Max };
        Assert.Equal(Errno.ENOENT, fd.IoasUnmap(ref cmd));
    }

    // §2.5: an area not fully inside the range is ENOENT ("Splitting/truncating IOVA mappings is not allowed").
    [Fact]
    public void Unmap_SplittingAnArea_EnoentNothingRemoved()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x10000, 0x10000, 0);
        Assert.Equal(Errno.ENOENT, fd.Unmap(ioas, 0x10000, 0x1000, out _));
        Assert.Equal(Errno.ENOENT, fd.Unmap(ioas, 0x1f000, 0x1000, out _));
        Assert.Equal(Errno.ENOENT, fd.Unmap(ioas, 0x8000, 0x9000, out _));
        Assert.Equal([R(0x10000, 0x1ffff)], AreaRanges(ioas));
    }

    // §2.5 (afb47765): a range covering no area is ENOENT for the native ioctl, and length is not written.
    [Fact]
    public void Unmap_EmptyRange_Enoent()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x10000, 0x1000, 0);
        var cmd = new IommuIoasUnmap { IoasId = ioas.Id, Iova = 0x20000, Length = 0x1000 };
        Assert.Equal(Errno.ENOENT, fd.IoasUnmap(ref cmd));
        Assert.Equal(0x1000UL, cmd.Length);
    }

    // §2.5: a range covering whole areas removes them all and reports their bytes.
    [Fact]
    public void Unmap_WholeAreas_RemovedWithBytes()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        fd.MapFixed(ioas, 0x3000, 0x2000, 0);
        fd.MapFixed(ioas, 0x8000, 0x1000, 0);
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0x1000, 0x5000, out ulong unmapped));
        Assert.Equal(0x3000UL, unmapped);
        Assert.Equal([R(0x8000, 0x8fff)], AreaRanges(ioas));
    }

    // §2.5 caveat (code-derived): areas go one by one, so when a *later* area sticks out, earlier ones are already
    // removed when ENOENT is returned, and length is not written back.
    [Fact]
    public void Unmap_LaterAreaSticksOut_EarlierAreasAlreadyRemoved()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        fd.MapFixed(ioas, 0x2000, 0x2000, 0);
        var cmd = new IommuIoasUnmap { IoasId = ioas.Id, Iova = 0x1000, Length = 0x2000 };
        Assert.Equal(Errno.ENOENT, fd.IoasUnmap(ref cmd));
        Assert.Equal(0x2000UL, cmd.Length);
        Assert.Equal([R(0x2000, 0x3fff)], AreaRanges(ioas));
    }

    // §2.5 caveat: when the *first* intersecting area sticks out nothing is removed.
    [Fact]
    public void Unmap_FirstAreaSticksOut_NothingRemoved()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x2000, 0);
        fd.MapFixed(ioas, 0x3000, 0x1000, 0);
        Assert.Equal(Errno.ENOENT, fd.Unmap(ioas, 0x2000, 0x2000, out _));
        Assert.Equal([R(0x1000, 0x2fff), R(0x3000, 0x3fff)], AreaRanges(ioas));
    }

    // §2.5: the last page of the space unmaps by range too (no iova + size == 0 bug as pre-6.18 type1).
    [Fact]
    public void Unmap_LastPageByRange_Ok()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0xFFFF_FFFF_FFFF_F000, 0x1000, 0);
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0xFFFF_FFFF_FFFF_F000, 0x1000, out ulong unmapped));
        Assert.Equal(0x1000UL, unmapped);
    }

    // §5: two UAPI maps can cover all 2^64 bytes (no domain); unmap-all then reports length 0 because the u64 wraps,
    // while the native UnmapAll reports 2^64.
    [Fact]
    public void UnmapAll_FullSpaceViaTwoMaps_UapiLengthWrapsToZero_NativeReports2Pow64()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0, 1UL << 63, 0));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 1UL << 63, 1UL << 63, 0));
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0, U64Max, out ulong unmapped));
        Assert.Equal(0UL, unmapped);
        Assert.Empty(ioas.Mappings);

        fd.MapFixed(ioas, 0, 1UL << 63, 0);
        fd.MapFixed(ioas, 1UL << 63, 1UL << 63, 0);
        Assert.Equal(IovaRange.SpaceSize, ioas.UnmapAll());
    }
}
