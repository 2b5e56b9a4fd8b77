using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.PageTables;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasNativeTests
{
    // IommuKit-native (linux-vfio-iommufd.md §5 "map side: not solved"): the full 2^64 space maps in one call.
    [Fact]
    public void NativeMap_FullSpace_OneCallOneArea()
    {
        var (_, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Map(IovaRange.Full, 0, Permissions.ReadWrite));
        Assert.Equal([IovaRange.Full], AreaRanges(ioas));
        Assert.Equal(IovaRange.SpaceSize, ioas.Mappings[0].Iova.Size);
    }

    // Native unmap of IovaRange.Full removes it in one call and reports 2^64 without wrapping.
    [Fact]
    public void NativeUnmap_FullSpace_Reports2Pow64()
    {
        var (_, ioas) = NewIoas();
        ioas.Map(IovaRange.Full, 0, Permissions.Read);
        IoasUnmapResult r = ioas.Unmap(IovaRange.Full);
        Assert.Equal(Errno.Ok, r.Errno);
        Assert.Equal(IovaRange.SpaceSize, r.Bytes);
        Assert.Empty(ioas.Mappings);
    }

    // Native unmap of IovaRange.Full on an empty IOAS is unmap-all: success with 0 bytes; other empty ranges ENOENT.
    [Fact]
    public void NativeUnmap_EmptyIoas_FullOkOthersEnoent()
    {
        var (_, ioas) = NewIoas();
        Assert.Equal(new IoasUnmapResult(Errno.Ok, 0), ioas.Unmap(IovaRange.Full));
        Assert.Equal(Errno.ENOENT, ioas.Unmap(R(0, U64Max - 1)).Errno);
    }

    // The native user range may end at 2^64-1 but never pass it (EOVERFLOW).
    [Fact]
    public void NativeMap_UserRangePast2Pow64_Eoverflow()
    {
        var (_, ioas) = NewIoas();
        Assert.Equal(Errno.EOVERFLOW, ioas.Map(IovaRange.Full, 1, Permissions.ReadWrite));
        Assert.Equal(Errno.Ok, ioas.Map(R(0, 0xfff), U64Max - 0xfff, Permissions.ReadWrite));
    }

    // Native map follows FIXED_IOVA rules: EINVAL without access, EINVAL on reserved, EEXIST on an area.
    [Fact]
    public void NativeMap_SameRulesAsFixedMap()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EINVAL, ioas.Map(R(0x1000, 0x1fff), 0, Permissions.None));
        ioas.Reserve(R(0xfee0_0000, 0xfeef_ffff));
        Assert.Equal(Errno.EINVAL, ioas.Map(IovaRange.Full, 0, Permissions.ReadWrite));
        Assert.Equal(Errno.Ok, ioas.Map(R(0, 0xfedf_ffff), 0, Permissions.ReadWrite));
        Assert.Equal(Errno.Ok, ioas.Map(R(0xfef0_0000, U64Max), 0xfef0_0000, Permissions.ReadWrite));
        Assert.Equal(Errno.EEXIST, fd.MapFixed(ioas, 0x1000, 0x1000, 0));
        Assert.Equal(Errno.Ok, ioas.Unmap(R(0, U64Max)).Errno);
    }

    // Native unmap is all-or-nothing: unlike the ioctl's §2.5 caveat, a later area sticking out removes nothing.
    [Fact]
    public void NativeUnmap_LaterAreaSticksOut_NothingRemoved()
    {
        var (fd, ioas) = NewIoas();
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        fd.MapFixed(ioas, 0x2000, 0x2000, 0);
        Assert.Equal(new IoasUnmapResult(Errno.ENOENT, 0), ioas.Unmap(R(0x1000, 0x2fff)));
        Assert.Equal([R(0x1000, 0x1fff), R(0x2000, 0x3fff)], AreaRanges(ioas));
    }
}
