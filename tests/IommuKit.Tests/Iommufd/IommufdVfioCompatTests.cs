using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Vfio;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IommufdVfioCompatTests
{
    private const ulong Va = 0x7f00_0000_0000;

    private static (IommufdVfioCompat Compat, Ioas Ioas) NewCompat(VfioIommuType type)
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(NewMemory());
        Ioas ioas = fd.GetOrCreateCompatIoas();
        var compat = new IommufdVfioCompat(fd);
        Assert.Equal(Errno.Ok, compat.SetIommu(type));
        return (compat, ioas);
    }

    private static Errno Map(IommufdVfioCompat c, ulong iova, ulong size, ulong vaddr = Va,
        VfioDmaMapFlags flags = VfioDmaMapFlags.Read | VfioDmaMapFlags.Write) =>
        c.MapDma(new VfioDmaMap(iova, size, vaddr, flags));

    private static Errno Unmap(IommufdVfioCompat c, ulong iova, ulong size, out ulong bytes, VfioDmaUnmapFlags flags = VfioDmaUnmapFlags.None)
    {
        var u = new VfioDmaUnmap(iova, size, flags);
        Errno rc = c.UnmapDma(ref u);
        bytes = u.Size;
        return rc;
    }

    // linux-vfio-iommufd.md §2.10: with no compat IOAS every call is ENODEV.
    [Fact]
    public void NoCompatIoas_Enodev()
    {
        var compat = new IommufdVfioCompat(new global::IommuKit.Iommufd.Iommufd());
        Assert.Equal(Errno.ENODEV, compat.SetIommu(VfioIommuType.Type1v2));
        Assert.Equal(Errno.ENODEV, Map(compat, 0x1000, 0x1000));
        Assert.Equal(Errno.ENODEV, Unmap(compat, 0, 0, out _, VfioDmaUnmapFlags.All));
        Assert.Equal(Errno.ENODEV, compat.GetInfo(new VfioIommuInfo(64)));
        Assert.Equal(-(int)Errno.ENODEV, compat.CheckExtension(VfioExtension.DmaCcIommu));
    }

    // §2.10: CHECK_EXTENSION(UPDATE_VADDR) = 0, UNMAP_ALL = 1, TYPE1/TYPE1v2 = 1.
    [Fact]
    public void CheckExtension_UpdateVaddr0_UnmapAll1()
    {
        var (c, _) = NewCompat(VfioIommuType.Type1v2);
        Assert.Equal(0, c.CheckExtension(VfioExtension.UpdateVaddr));
        Assert.Equal(1, c.CheckExtension(VfioExtension.UnmapAll));
        Assert.Equal(1, c.CheckExtension(VfioExtension.Type1Iommu));
        Assert.Equal(1, c.CheckExtension(VfioExtension.Type1v2Iommu));
        Assert.Equal(0, c.CheckExtension(VfioExtension.SpaprTceIommu));
    }

    // §2.10: MAP accepts only READ/WRITE: VADDR is EINVAL; argsz below 32 EINVAL.
    [Fact]
    public void Map_VaddrFlagOrShortArgsz_Einval()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        Assert.Equal(Errno.EINVAL, Map(c, 0x1000, 0x1000, flags: VfioDmaMapFlags.Vaddr));
        Assert.Equal(Errno.EINVAL, c.MapDma(new VfioDmaMap(0x1000, 0x1000, Va, VfioDmaMapFlags.Read) { Argsz = 31 }));
        Assert.Equal(Errno.Ok, Map(c, 0x1000, 0x1000));
        Assert.Single(ioas.Mappings);
    }

    // §2.10: UNMAP accepts only ALL among flags: GET_DIRTY_BITMAP and VADDR are EINVAL; ALL needs iova = size = 0.
    [Fact]
    public void Unmap_DirtyOrVaddrFlag_Einval_AllNeedsZeroes()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        Map(c, 0x1000, 0x1000);
        Assert.Equal(Errno.EINVAL, Unmap(c, 0x1000, 0x1000, out _, VfioDmaUnmapFlags.GetDirtyBitmap));
        Assert.Equal(Errno.EINVAL, Unmap(c, 0x1000, 0x1000, out _, VfioDmaUnmapFlags.Vaddr));
        Assert.Equal(Errno.EINVAL, Unmap(c, 0x1000, 0, out _, VfioDmaUnmapFlags.All));
        Assert.Equal(Errno.Ok, Unmap(c, 0, 0, out ulong bytes, VfioDmaUnmapFlags.All));
        Assert.Equal(0x1000UL, bytes);
        Assert.Empty(ioas.Mappings);
    }

    // §2.10: a v2 unmap that bisects a mapping is ENOENT (real type1 says EINVAL) and the mapping stays.
    [Fact]
    public void V2_BisectingUnmap_Enoent()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        Map(c, 0x10000, 0x10000);
        Assert.Equal(Errno.ENOENT, Unmap(c, 0x10000, 0x1000, out ulong bytes));
        Assert.Equal(0UL, bytes);
        Assert.Equal([R(0x10000, 0x1ffff)], AreaRanges(ioas));
    }

    // §2.5 + vfio_compat.c: size is copied back even on failure: a later mapping sticking out leaves the earlier one
    // unmapped, ENOENT, size = the bytes already removed.
    [Fact]
    public void V2_LaterMappingSticksOut_EnoentWithPartialSize()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        Map(c, 0x1000, 0x1000);
        Map(c, 0x2000, 0x2000, Va + 0x1000);
        Assert.Equal(Errno.ENOENT, Unmap(c, 0x1000, 0x2000, out ulong bytes));
        Assert.Equal(0x1000UL, bytes);
        Assert.Equal([R(0x2000, 0x3fff)], AreaRanges(ioas));
    }

    // §2.10 (afb47765): an unmap covering nothing succeeds with size 0, as type1.
    [Fact]
    public void EmptyUnmap_SuccessSizeZero()
    {
        var (c, _) = NewCompat(VfioIommuType.Type1v2);
        Assert.Equal(Errno.Ok, Unmap(c, 0x100000, 0x1000, out ulong bytes));
        Assert.Equal(0UL, bytes);
    }

    // §2.10/§2.9: v1 disables huge pages (alignment PAGE_SIZE) and cuts areas before a range unmap, so part of a
    // mapping can be unmapped; the halves keep the user VA offsets.
    [Fact]
    public void V1_RangeUnmapCutsAreas()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1);
        Assert.False(ioas.HugePages);
        Assert.Equal(0x1000UL, ioas.IovaAlignment);
        Map(c, 0x10000, 0x10000);
        Assert.Equal(Errno.Ok, Unmap(c, 0x14000, 0x2000, out ulong bytes));
        Assert.Equal(0x2000UL, bytes);
        Assert.Equal([R(0x10000, 0x13fff), R(0x16000, 0x1ffff)], AreaRanges(ioas));
        Assert.Equal(Va + 0x6000, ioas.Mappings[1].UserVa);
    }

    // §2.9: in v1 a cut at an unaligned IOVA is EINVAL and nothing is unmapped (the size is not copied back).
    [Fact]
    public void V1_UnalignedCut_Einval()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1);
        Map(c, 0x10000, 0x10000);
        var u = new VfioDmaUnmap(0x10800, 0x1000);
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(0x1000UL, u.Size);
        Assert.Single(ioas.Mappings);
    }

    // §2.10: SET_IOMMU accepts TYPE1 and TYPE1v2 only.
    [Fact]
    public void SetIommu_OtherType_Einval()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd();
        fd.GetOrCreateCompatIoas();
        Assert.Equal(Errno.EINVAL, new IommufdVfioCompat(fd).SetIommu((VfioIommuType)2));
    }

    // §2.10: GET_INFO reports DMA_AVAIL = U32_MAX and the IOVA ranges, no MIGRATION cap; argsz grows to the needed size.
    [Fact]
    public void GetInfo_DmaAvailU32Max_IovaRange_NoMigration()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        ioas.Reserve(R(0xfee0_0000, 0xfeef_ffff));
        var small = new VfioIommuInfo(24);
        Assert.Equal(Errno.Ok, c.GetInfo(small));
        Assert.Equal(24U + 16 + 16 + (2 * 16), small.Argsz);
        Assert.Equal(0U, small.CapOffset);
        Assert.Empty(small.Caps);

        var info = new VfioIommuInfo(small.Argsz);
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal(24U, info.CapOffset);
        Assert.Equal(0xFFFF_FFFF_FFFF_F000UL, info.IovaPgsizes);
        Assert.Equal(uint.MaxValue, info.Find<VfioInfoCapDmaAvail>()!.Avail);
        Assert.Equal([R(0, 0xfedf_ffff), R(0xfef0_0000, U64Max)], info.Find<VfioInfoCapIovaRange>()!.Ranges);
        Assert.Null(info.Find<VfioInfoCapMigration>());
        Assert.Equal(Errno.EINVAL, c.GetInfo(new VfioIommuInfo(15)));
    }

    // §2.10: no mapping-count limit: more than type1's default 65535 mappings are accepted.
    [Fact]
    public void Map_NoDmaEntryLimit()
    {
        var (c, ioas) = NewCompat(VfioIommuType.Type1v2);
        for (ulong i = 0; i < 65536; i++)
        {
            Assert.Equal(Errno.Ok, Map(c, 0x1000 * (i + 1), 0x1000, Va));
        }

        Assert.Equal(Errno.Ok, Map(c, 0x1000 * 65537, 0x1000, Va));
        Assert.Equal(65537, ioas.Mappings.Count);
    }

    // vfio_compat.c: MAP with neither READ nor WRITE is not rejected up front (type1 says EINVAL): with no domain it is
    // recorded; with a domain the IOMMU refuses a no-access mapping (EINVAL) and nothing is left.
    [Fact]
    public void Map_NoAccessFlags_RecordedWithoutDomain_EinvalWithDomain()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(NewMemory());
        Ioas ioas = fd.GetOrCreateCompatIoas();
        var c = new IommufdVfioCompat(fd);
        c.SetIommu(VfioIommuType.Type1v2);
        Assert.Equal(Errno.Ok, Map(c, 0x1000, 0x1000, flags: VfioDmaMapFlags.None));
        Assert.Equal(global::IommuKit.PageTables.Permissions.None, ioas.Mappings[0].Permissions);
        Assert.Equal(Errno.Ok, Unmap(c, 0, 0, out _, VfioDmaUnmapFlags.All));

        var domain = new global::IommuKit.Iommu.IommuDomain(new global::IommuKit.Memory.FrameAllocator(new global::IommuKit.Memory.PhysicalMemory()));
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, domain, out _));
        Assert.Equal(Errno.EINVAL, Map(c, 0x1000, 0x1000, flags: VfioDmaMapFlags.None));
        Assert.Empty(ioas.Mappings);
    }

    // vfio_compat.c iommufd_get_pagesizes: sub-PAGE_SIZE sizes fold into PAGE_SIZE (the mock domain's 2 KiB + 1 MiB
    // gives 4 KiB + 1 MiB).
    [Fact]
    public void GetInfo_SubPageSizesFoldIntoPageSize()
    {
        var fd = new global::IommuKit.Iommufd.Iommufd(NewMemory());
        Ioas ioas = fd.GetOrCreateCompatIoas();
        fd.AttachDomain(ioas.Id, new FakeDomain(global::IommuKit.Addressing.PageSizes.Of(2048, 1 << 20), R(0x100_0000, 0x7FFF_FFFF)), out _);
        var c = new IommufdVfioCompat(fd);
        var info = new VfioIommuInfo(4096);
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal(0x10_1000UL, info.IovaPgsizes);
        Assert.Equal([R(0x100_0000, 0x7FFF_FFFF)], info.Find<VfioInfoCapIovaRange>()!.Ranges);
    }
}
