using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasMapTests
{
    // linux-vfio-iommufd.md §2.1: size below the mandatory fields is EINVAL.
    [Fact]
    public void Map_SizeBelowMandatoryFields_Einval()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuIoasMap { Size = 39, IoasId = ioas.Id, Flags = FixedRw, Length = P, Iova = P };
        Assert.Equal(Errno.EINVAL, fd.IoasMap(ref cmd));
    }

    // §2.1: a larger struct is accepted when its trailing bytes are zero, E2BIG otherwise.
    [Fact]
    public void Map_LargerStruct_ZeroTailOk_NonZeroTailE2big()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuIoasMap { Size = 48, IoasId = ioas.Id, Flags = FixedRw, Length = P, Iova = P, TrailingNonZero = true };
        Assert.Equal(Errno.E2BIG, fd.IoasMap(ref cmd));
        cmd.TrailingNonZero = false;
        Assert.Equal(Errno.Ok, fd.IoasMap(ref cmd));
    }

    // §2.3: unknown flags or a non-zero __reserved give EOPNOTSUPP, before anything else.
    [Fact]
    public void Map_UnknownFlagOrReserved_Eopnotsupp()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuIoasMap { IoasId = 99, Flags = (IoasMapFlags)(1 << 3) | Rw, Length = ulong.MaxValue };
        Assert.Equal(Errno.EOPNOTSUPP, fd.IoasMap(ref cmd));
        cmd = new IommuIoasMap { IoasId = ioas.Id, Flags = Rw, Length = P, Reserved = 1 };
        Assert.Equal(Errno.EOPNOTSUPP, fd.IoasMap(ref cmd));
    }

    // §2.3: iova >= U64_MAX or length >= U64_MAX is EOVERFLOW, checked before the access flags and the id.
    [Theory]
    [InlineData(U64Max, 0x1000UL)]
    [InlineData(0x1000UL, U64Max)]
    public void Map_IovaOrLengthU64Max_EoverflowBeforeFlagsAndId(ulong iova, ulong length)
    {
        var (fd, _) = NewIoas();
        var cmd = new IommuIoasMap { IoasId = 99, Flags = IoasMapFlags.FixedIova, Length = length, Iova = iova };
        Assert.Equal(Errno.EOVERFLOW, fd.IoasMap(ref cmd));
    }

    // §2.3: neither READABLE nor WRITEABLE is EINVAL, checked before the IOAS id (ENOENT).
    [Fact]
    public void Map_NoAccess_EinvalBeforeEnoent()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuIoasMap { IoasId = 99, Flags = IoasMapFlags.FixedIova, Length = P, Iova = P };
        Assert.Equal(Errno.EINVAL, fd.IoasMap(ref cmd));
        cmd.Flags = FixedRw;
        Assert.Equal(Errno.ENOENT, fd.IoasMap(ref cmd));
        Assert.Empty(ioas.Mappings);
    }

    // §2.3: user_va + length passing 2^64 (the exclusive end) is EOVERFLOW.
    [Fact]
    public void Map_UserVaPlusLengthWraps_Eoverflow()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EOVERFLOW, fd.MapFixed(ioas, P, P, U64Max - 0xfff));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, P, P, U64Max - 0x1fff));
    }

    // §2.3: length 0 is EINVAL.
    [Fact]
    public void Map_LengthZero_Einval()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, P, 0, 0));
    }

    // §2.2: with no domain the alignment is 1: byte-granular IOVAs, lengths and user VAs.
    [Fact]
    public void Map_NoDomain_ByteGranular()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(1UL, ioas.IovaAlignment);
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 1, 3, 0x7f00_0000_0005));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 4, 1, 0x7f00_0000_0fff));
        Assert.Equal([R(1, 3), R(4, 4)], AreaRanges(ioas));
        Assert.Equal(0x7f00_0000_0005UL, ioas.Mappings[0].UserVa);
    }

    // §2.3 iopt_check_iova: a fixed IOVA intersecting a reserved range is EINVAL, one intersecting an area EEXIST.
    [Fact]
    public void MapFixed_ReservedEinval_AreaEexist()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, ioas.Reserve(R(0x10000, 0x10fff)));
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, 0xf000, 0x1001, 0));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0xf000, 0x1000, 0));
        Assert.Equal(Errno.EEXIST, fd.MapFixed(ioas, 0xffff, 1, 0));
        Assert.Equal([R(0xf000, 0xffff)], AreaRanges(ioas));
    }

    // §2.3: iova + length - 1 overflowing is EOVERFLOW; ending exactly at U64_MAX is legal with no domain.
    [Fact]
    public void MapFixed_EndOfAddressSpace_LastPageMapsAndOverflowIsEoverflow()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EOVERFLOW, fd.MapFixed(ioas, 0xFFFF_FFFF_FFFF_F001, P, 0));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0xFFFF_FFFF_FFFF_F000, P, 0));
        Assert.Equal([R(0xFFFF_FFFF_FFFF_F000, U64Max)], AreaRanges(ioas));
        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0, U64Max, out ulong unmapped));
        Assert.Equal(P, unmapped);
        Assert.Empty(ioas.Mappings);
    }

    // §2.2: each MAP makes exactly one area; adjacent areas are never merged.
    [Fact]
    public void Map_AdjacentMaps_NeverMerged()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x1000, 0x1000, 0x10_0000));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x2000, 0x1000, 0x10_1000));
        Assert.Equal([R(0x1000, 0x1fff), R(0x2000, 0x2fff)], AreaRanges(ioas));
    }

    // §2.3: outputs are written back only on success.
    [Fact]
    public void Map_Failure_DoesNotWriteIova()
    {
        var (fd, ioas) = NewIoas();
        ioas.Reserve(R(0, U64Max));
        var cmd = new IommuIoasMap { IoasId = ioas.Id, Flags = Rw, UserVa = 0, Length = P, Iova = 0x1234 };
        Assert.Equal(Errno.ENOSPC, fd.IoasMap(ref cmd));
        Assert.Equal(0x1234UL, cmd.Iova);
    }

    // §2.3: length above SIZE_MAX - PAGE_SIZE is EINVAL (iopt_alloc_pages) when user_va + length does not wrap.
    [Fact]
    public void Map_LengthAboveSizeMaxMinusPage_Einval()
    {
        var (fd, ioas) = NewIoas();
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, 0, U64Max - P + 1, 0));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0, U64Max - P, 0));
    }
}
