using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasRangesAllowReserveTests
{
    private static Errno Ranges(global::IommuKit.Iommufd.Iommufd fd, Ioas ioas, uint capacity, out IommuIoasIovaRanges cmd)
    {
        cmd = new IommuIoasIovaRanges { IoasId = ioas.Id, NumIovas = capacity, AllowedIovas = new IommuIovaRange[capacity] };
        return fd.IoasIovaRanges(ref cmd);
    }

    // linux-vfio-iommufd.md §2.6: an empty IOAS reports [{0, U64_MAX}] and alignment 1.
    [Fact]
    public void IovaRanges_EmptyIoas_FullSpaceAlignment1()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, Ranges(fd, ioas, 4, out IommuIoasIovaRanges cmd));
        Assert.Equal(1U, cmd.NumIovas);
        Assert.Equal(new IommuIovaRange(0, U64Max), cmd.AllowedIovas![0]);
        Assert.Equal(1UL, cmd.OutIovaAlignment);
    }

    // §2.6: holes of the reserved set; capacity too small gives EMSGSIZE with the first `capacity` entries written
    // and num_iovas = total.
    [Fact]
    public void IovaRanges_CapacityTooSmall_EmsgsizeFirstEntriesWritten()
    {
        var (fd, ioas) = NewIoas();
        ioas.Reserve(R(0x1000, 0x1fff));
        ioas.Reserve(R(0x3000, 0x3fff));
        Assert.Equal(Errno.EMSGSIZE, Ranges(fd, ioas, 1, out IommuIoasIovaRanges cmd));
        Assert.Equal(3U, cmd.NumIovas);
        Assert.Equal(new IommuIovaRange(0, 0xfff), cmd.AllowedIovas![0]);
        Assert.Equal(Errno.EMSGSIZE, Ranges(fd, ioas, 0, out cmd));
        Assert.Equal(3U, cmd.NumIovas);
        Assert.Equal(Errno.Ok, Ranges(fd, ioas, 3, out cmd));
        Assert.Equal([new(0, 0xfff), new(0x2000, 0x2fff), new(0x4000, U64Max)], cmd.AllowedIovas!);
    }

    // §2.6: overlapping and touching reserved ranges merge into one span.
    [Fact]
    public void IovaRanges_OverlappingReservedMerge()
    {
        var (fd, ioas) = NewIoas();
        ioas.Reserve(R(0x1000, 0x2fff));
        ioas.Reserve(R(0x2000, 0x3fff));
        ioas.Reserve(R(0x4000, 0x4fff));
        ioas.Reserve(R(0xFFFF_FFFF_FFFF_F000, U64Max));
        Assert.Equal(Errno.Ok, Ranges(fd, ioas, 4, out IommuIoasIovaRanges cmd));
        Assert.Equal(2U, cmd.NumIovas);
        Assert.Equal(new IommuIovaRange(0x5000, 0xFFFF_FFFF_FFFF_EFFF), cmd.AllowedIovas![1]);
    }

    // §2.6: __reserved != 0 is EOPNOTSUPP.
    [Fact]
    public void IovaRanges_Reserved_Eopnotsupp()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuIoasIovaRanges { IoasId = ioas.Id, Reserved = 1 };
        Assert.Equal(Errno.EOPNOTSUPP, fd.IoasIovaRanges(ref cmd));
    }

    // §2.7: start >= last is EINVAL (a 1-byte range is impossible).
    [Fact]
    public void AllowIovas_StartNotBelowLast_Einval()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EINVAL, fd.Allow(ioas, new IommuIovaRange(0x1000, 0x1000)));
        Assert.Equal(Errno.EINVAL, fd.Allow(ioas, new IommuIovaRange(0x2000, 0x1000)));
        Assert.Empty(ioas.AllowedRanges);
    }

    // §2.7: ranges overlapping each other within one call are EINVAL.
    [Fact]
    public void AllowIovas_OverlapWithinCall_Einval()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0x1000, 0x1fff)));
        Assert.Equal(Errno.EINVAL, fd.Allow(ioas, new IommuIovaRange(0x10000, 0x1ffff), new IommuIovaRange(0x1ffff, 0x2ffff)));
        Assert.Equal([R(0x1000, 0x1fff)], ioas.AllowedRanges);
    }

    // §2.7: an allowed range intersecting a reserved one is EADDRINUSE and the old list is kept.
    [Fact]
    public void AllowIovas_IntersectsReserved_EaddrinuseOldListKept()
    {
        var (fd, ioas) = NewIoas();
        ioas.Reserve(R(0xfee0_0000, 0xfeef_ffff));
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0x1000, 0x1fff)));
        Assert.Equal(Errno.EADDRINUSE, fd.Allow(ioas, new IommuIovaRange(0, 0xffff_ffff)));
        Assert.Equal([R(0x1000, 0x1fff)], ioas.AllowedRanges);
    }

    // §2.7: the replacement is atomic and num_iovas = 0 clears the list.
    [Fact]
    public void AllowIovas_ReplacesAndClears()
    {
        var (fd, ioas) = NewIoas();
        fd.Allow(ioas, new IommuIovaRange(0x1000, 0x1fff));
        Assert.Equal(Errno.Ok, fd.Allow(ioas, new IommuIovaRange(0x10000, 0x1ffff), new IommuIovaRange(0x30000, 0x3ffff)));
        Assert.Equal([R(0x10000, 0x1ffff), R(0x30000, 0x3ffff)], ioas.AllowedRanges);
        Assert.Equal(Errno.Ok, fd.Allow(ioas));
        Assert.Empty(ioas.AllowedRanges);
    }

    // §2.2: allowed ranges constrain only automatic allocation: a FIXED map outside them is fine.
    [Fact]
    public void AllowIovas_FixedMapOutsideAllowed_Ok()
    {
        var (fd, ioas) = NewIoas();
        fd.Allow(ioas, new IommuIovaRange(0x10000, 0x1ffff));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x1000, 0x1000, 0));
    }

    // §2.2/§2.7: a later reservation intersecting an allowed range or an area is EADDRINUSE.
    [Fact]
    public void Reserve_IntersectingAllowedOrArea_Eaddrinuse()
    {
        var (fd, ioas) = NewIoas();
        fd.Allow(ioas, new IommuIovaRange(0x10000, 0x1ffff));
        fd.MapFixed(ioas, 0x1000, 0x1000, 0);
        Assert.Equal(Errno.EADDRINUSE, ioas.Reserve(R(0x1ffff, 0x20000)));
        Assert.Equal(Errno.EADDRINUSE, ioas.Reserve(R(0, 0x1000)));
        Assert.Equal(Errno.Ok, ioas.Reserve(R(0x2000, 0xffff)));
        Assert.Equal(Errno.ENOENT, fd.IoasReserve(42, R(0, 1)));
        Assert.Equal([R(0x2000, 0xffff)], ioas.ReservedRanges);
    }
}
