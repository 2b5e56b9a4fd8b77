using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.5: VFIO_IOMMU_GET_INFO.
public class VfioInfoTests
{
    [Fact]
    public void Argsz_below_16_is_EINVAL_and_nothing_is_written()
    {
        VfioContainer c = Container();
        var info = new VfioIommuInfo(15);
        Assert.Equal(Errno.EINVAL, c.GetInfo(info));
        Assert.Equal(15u, info.Argsz);
        Assert.Equal(VfioIommuInfoFlags.None, info.Flags);
        Assert.Equal(0UL, info.IovaPgsizes);
    }

    [Fact]
    public void Argsz_too_small_for_the_chain_reports_the_size_needed_and_cap_offset_0()
    {
        VfioContainer c = Container();
        var info = new VfioIommuInfo(24) { CapOffset = 0xdead };
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        // No domain: no IOVA_RANGE cap; 24 + MIGRATION 32 + DMA_AVAIL 16.
        Assert.Equal(72u, info.Argsz);
        Assert.Equal(0u, info.CapOffset);
        Assert.Equal(VfioIommuInfoFlags.Pgsizes | VfioIommuInfoFlags.Caps, info.Flags);
        Assert.Equal(~0xfffUL, info.IovaPgsizes);
        Assert.Empty(info.Caps);
    }

    [Fact]
    public void Argsz_16_writes_pgsizes_but_not_cap_offset()
    {
        VfioContainer c = Container();
        var info = new VfioIommuInfo(16) { CapOffset = 0xdead };
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal(0xdeadu, info.CapOffset);
        Assert.Equal(~0xfffUL, info.IovaPgsizes);
    }

    [Fact]
    public void No_domain_chain_has_migration_and_dma_avail_but_no_iova_range()
    {
        VfioContainer c = Container(limit: 10);
        Assert.Equal(Errno.Ok, c.Map(0, P));
        var info = new VfioIommuInfo(4096);
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal(24u, info.CapOffset);
        Assert.Equal(4096u, info.Argsz);
        Assert.Equal([VfioInfoCapMigration.CapId, VfioInfoCapDmaAvail.CapId], info.Caps.Select(x => x.Id));
        VfioInfoCapMigration mig = info.Find<VfioInfoCapMigration>()!;
        Assert.Equal((24u, 56u, 0x1000UL, 0x1000_0000UL), (mig.Offset, mig.Next, mig.PgsizeBitmap, mig.MaxDirtyBitmapSize));
        VfioInfoCapDmaAvail avail = info.Find<VfioInfoCapDmaAvail>()!;
        Assert.Equal((56u, 0u, 9u), (avail.Offset, avail.Next, avail.Avail));
        Assert.Null(info.Find<VfioInfoCapIovaRange>());
    }

    [Fact]
    public void With_a_domain_the_iova_range_cap_lists_inclusive_ranges_last()
    {
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(host: host);
        Assert.Equal(Errno.Ok, c.AttachDomain(VfioDomainTests.Domain(host, reserved: [R(0xfee0_0000, 0xfeef_ffff)])));
        var small = new VfioIommuInfo(72);
        Assert.Equal(Errno.Ok, c.GetInfo(small));
        Assert.Equal(72u + 16 + (2 * 16), small.Argsz);

        var info = new VfioIommuInfo(small.Argsz);
        Assert.Equal(Errno.Ok, c.GetInfo(info));
        Assert.Equal([2, 3, 1], info.Caps.Select(x => (int)x.Id));
        VfioInfoCapIovaRange iova = info.Find<VfioInfoCapIovaRange>()!;
        Assert.Equal((72u, 0u), (iova.Offset, iova.Next));
        Assert.Equal([R(0, 0xfedf_ffff), R(0xfef0_0000, 0xffff_ffff_ffff)], iova.Ranges);
        Assert.Equal(72u, info.Find<VfioInfoCapDmaAvail>()!.Next);
        Assert.Equal(0x4020_1000UL, info.IovaPgsizes);
    }

    [Fact]
    public void Dma_avail_cap_tracks_maps_and_unmaps()
    {
        VfioContainer c = Container(limit: 3);
        c.Map(0, P);
        c.Map(P, P);
        var info = new VfioIommuInfo(4096);
        c.GetInfo(info);
        Assert.Equal(1u, info.Find<VfioInfoCapDmaAvail>()!.Avail);
        c.Unmap(0, 0, VfioDmaUnmapFlags.All);
        c.GetInfo(info);
        Assert.Equal(3u, info.Find<VfioInfoCapDmaAvail>()!.Avail);
    }
}
