using IommuKit.Iommufd;
using IommuKit.Linux;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IommufdObjectTests
{
    // linux-vfio-iommufd.md §2.1: IOAS_ALLOC flags must be 0 (EOPNOTSUPP); ids start at 1, lowest free reused.
    [Fact]
    public void IoasAlloc_FlagsEopnotsupp_IdsFromOneReused()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd();
        var cmd = new IommuIoasAlloc { Flags = 1 };
        Assert.Equal(Errno.EOPNOTSUPP, fd.IoasAlloc(ref cmd));
        Assert.Equal(1U, fd.CreateIoas().Id);
        Assert.Equal(2U, fd.CreateIoas().Id);
        Assert.Equal(Errno.Ok, fd.Destroy(1));
        Assert.Equal(1U, fd.CreateIoas().Id);
    }

    // §2.1: DESTROY of a missing id is ENOENT.
    [Fact]
    public void Destroy_BadId_Enoent()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd();
        var cmd = new IommuDestroy { Id = 5 };
        Assert.Equal(Errno.ENOENT, fd.Destroy(ref cmd));
    }

    // §2.10: HUGE_PAGES SET 0 raises the alignment to PAGE_SIZE (EADDRINUSE for a misaligned area), values > 1 are
    // EINVAL, GET reports it; unknown options EOPNOTSUPP.
    [Fact]
    public void OptionHugePages_Rules()
    {
        var (fd, ioas) = NewIoas();
        var get = new IommuOption { OptionId = IommuOption.HugePages, Op = IommuOption.OpGet, ObjectId = ioas.Id };
        Assert.Equal(Errno.Ok, fd.Option(ref get));
        Assert.Equal(1UL, get.Val64);

        fd.MapFixed(ioas, 1, 0x1000, 0);
        var set = new IommuOption { OptionId = IommuOption.HugePages, Op = IommuOption.OpSet, ObjectId = ioas.Id, Val64 = 0 };
        Assert.Equal(Errno.EADDRINUSE, fd.Option(ref set));
        Assert.Equal(1UL, ioas.IovaAlignment);
        fd.Unmap(ioas, 0, U64Max, out _);
        Assert.Equal(Errno.Ok, fd.Option(ref set));
        Assert.Equal(0x1000UL, ioas.IovaAlignment);
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, 0x800, 0x1000, 0));
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, 0x1000, 0x800, 0));
        Assert.Equal(Errno.EINVAL, fd.MapFixed(ioas, 0x1000, 0x1000, 0x800));

        set.Val64 = 2;
        Assert.Equal(Errno.EINVAL, fd.Option(ref set));
        set.Val64 = 1;
        Assert.Equal(Errno.Ok, fd.Option(ref set));
        Assert.Equal(1UL, ioas.IovaAlignment);

        var bad = new IommuOption { OptionId = 7, ObjectId = ioas.Id };
        Assert.Equal(Errno.EOPNOTSUPP, fd.Option(ref bad));
        bad = new IommuOption { OptionId = IommuOption.HugePages, ObjectId = 99, Op = IommuOption.OpGet };
        Assert.Equal(Errno.ENOENT, fd.Option(ref bad));
    }

    // §2.10: RLIMIT_MODE is global (object_id 0), SET is EBUSY while objects exist and EINVAL above 1.
    [Fact]
    public void OptionRlimitMode_Rules()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd();
        var set = new IommuOption { OptionId = IommuOption.RlimitMode, Op = IommuOption.OpSet, Val64 = 2 };
        Assert.Equal(Errno.EINVAL, fd.Option(ref set));
        set.Val64 = 1;
        Assert.Equal(Errno.Ok, fd.Option(ref set));
        Assert.Equal(1UL, fd.RlimitMode);
        fd.CreateIoas();
        Assert.Equal(Errno.EBUSY, fd.Option(ref set));
        set.ObjectId = 1;
        Assert.Equal(Errno.EOPNOTSUPP, fd.Option(ref set));
    }

    // IOMMU_VFIO_IOAS: GET with no compat IOAS is ENODEV; SET a bad id ENOENT; destroying the compat IOAS clears it.
    [Fact]
    public void VfioIoas_GetSetClear()
    {
        var (fd, ioas) = NewIoas();
        var cmd = new IommuVfioIoas { Op = IommuVfioIoas.OpGet };
        Assert.Equal(Errno.ENODEV, fd.VfioIoas(ref cmd));
        cmd = new IommuVfioIoas { Op = IommuVfioIoas.OpSet, IoasId = 9 };
        Assert.Equal(Errno.ENOENT, fd.VfioIoas(ref cmd));
        cmd.IoasId = ioas.Id;
        Assert.Equal(Errno.Ok, fd.VfioIoas(ref cmd));
        Assert.Same(ioas, fd.CompatIoas);
        fd.Destroy(ioas.Id);
        Assert.Null(fd.CompatIoas);
    }
}
