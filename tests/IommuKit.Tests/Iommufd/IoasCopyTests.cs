using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasCopyTests
{
    // linux-vfio-iommufd.md §2.8: a sub-range of an area can be copied (copy_sweep selftest), giving one dst area.
    [Fact]
    public void Copy_SubRangeOfArea_OneDstAreaSameUserVa()
    {
        var (fd, src) = NewIoas();
        Ioas dst = fd.CreateIoas();
        fd.MapFixed(src, 0x10000, 0x10000, 0x7f00_0000_0000);
        ulong dstIova = 0x50800;
        Assert.Equal(Errno.Ok, fd.Copy(src, 0x10800, 0x800, dst, ref dstIova));
        Assert.Equal([R(0x50800, 0x50fff)], AreaRanges(dst));
        Assert.Equal(0x7f00_0000_0800UL, dst.Mappings[0].UserVa);
    }

    // §2.8: one dst area per contiguous src-area piece.
    [Fact]
    public void Copy_AcrossTwoAreas_TwoDstAreas()
    {
        var (fd, src) = NewIoas();
        Ioas dst = fd.CreateIoas();
        fd.MapFixed(src, 0x1000, 0x1000, 0x10_0000);
        fd.MapFixed(src, 0x2000, 0x2000, 0x30_0000);
        ulong dstIova = 0x9000;
        Assert.Equal(Errno.Ok, fd.Copy(src, 0x1800, 0x1800, dst, ref dstIova));
        Assert.Equal([R(0x9000, 0x97ff), R(0x9800, 0xa7ff)], AreaRanges(dst));
        Assert.Equal(0x10_0800UL, dst.Mappings[0].UserVa);
        Assert.Equal(0x30_0000UL, dst.Mappings[1].UserVa);
    }

    // §2.8: the source must be covered contiguously: a hole is ENOENT and nothing is mapped.
    [Fact]
    public void Copy_HoleInSource_Enoent()
    {
        var (fd, src) = NewIoas();
        Ioas dst = fd.CreateIoas();
        fd.MapFixed(src, 0x1000, 0x1000, 0);
        fd.MapFixed(src, 0x3000, 0x1000, 0);
        ulong dstIova = 0x9000;
        Assert.Equal(Errno.ENOENT, fd.Copy(src, 0x1000, 0x3000, dst, ref dstIova));
        Assert.Equal(Errno.ENOENT, fd.Copy(src, 0x5000, 0x1000, dst, ref dstIova));
        Assert.Empty(dst.Mappings);
    }

    // §2.3/§2.8: a writeable copy of read-only pages is EPERM; a read-only copy is fine.
    [Fact]
    public void Copy_WriteableOfReadOnlyArea_Eperm()
    {
        var (fd, src) = NewIoas();
        Ioas dst = fd.CreateIoas();
        fd.MapFixed(src, 0x1000, 0x1000, 0, IoasMapFlags.FixedIova | IoasMapFlags.Readable);
        ulong dstIova = 0x9000;
        Assert.Equal(Errno.EPERM, fd.Copy(src, 0x1000, 0x1000, dst, ref dstIova));
        Assert.Empty(dst.Mappings);
        Assert.Equal(Errno.Ok, fd.Copy(src, 0x1000, 0x1000, dst, ref dstIova, IoasMapFlags.FixedIova | IoasMapFlags.Readable));
    }

    // §2.8: argument checks in order: EOPNOTSUPP flags, EOVERFLOW, EINVAL access, ENOENT src, EINVAL length 0,
    // EOVERFLOW source end, ENOENT dst.
    [Fact]
    public void Copy_ArgumentChecks_InKernelOrder()
    {
        var (fd, src) = NewIoas();
        fd.MapFixed(src, 0x1000, 0x1000, 0);
        ulong d = 0x9000;
        Assert.Equal(Errno.EOPNOTSUPP, fd.Copy(src, 0x1000, 0x1000, src, ref d, (IoasMapFlags)8));
        Assert.Equal(Errno.EOVERFLOW, fd.Copy(src, U64Max, 0x1000, src, ref d));
        Assert.Equal(Errno.EINVAL, fd.Copy(src, 0x1000, 0x1000, src, ref d, IoasMapFlags.FixedIova));
        var cmd = new IommuIoasCopy { SrcIoasId = 50, DstIoasId = 51, Length = 0x1000, SrcIova = 0x1000, Flags = FixedRw };
        Assert.Equal(Errno.ENOENT, fd.IoasCopy(ref cmd));
        Assert.Equal(Errno.EINVAL, fd.Copy(src, 0x1000, 0, src, ref d));
        Assert.Equal(Errno.EOVERFLOW, fd.Copy(src, 0xFFFF_FFFF_FFFF_F000, 0x2000, src, ref d));
        cmd = new IommuIoasCopy { SrcIoasId = src.Id, DstIoasId = 51, Length = 0x1000, SrcIova = 0x1000, Flags = FixedRw };
        Assert.Equal(Errno.ENOENT, fd.IoasCopy(ref cmd));
    }

    // §2.8: the destination is allocated like MAP when FIXED_IOVA is absent (alignment from the source user VA).
    [Fact]
    public void Copy_AllocatedDestination_WrittenBack()
    {
        var (fd, src) = NewIoas();
        Ioas dst = fd.CreateIoas();
        fd.MapFixed(src, 0x10000, 0x4000, 0x7f00_0000_0000);
        ulong dstIova = 0;
        Assert.Equal(Errno.Ok, fd.Copy(src, 0x10000, 0x4000, dst, ref dstIova, Rw));
        Assert.Equal(0x4000UL, dstIova);
    }
}
