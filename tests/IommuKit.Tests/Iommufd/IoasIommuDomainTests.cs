using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasIommuDomainTests
{
    private const ulong Va = 0x7f00_0000_0000;

    // linux-vfio-iommufd.md §2.2 with a real IommuDomain: MAP pins and maps (a 2 MiB-aligned VA and IOVA get a 2 MiB
    // leaf), DMA translates to the host PA, and UNMAP clears the PTEs and syncs the IOTLB (no stale hit).
    [Fact]
    public void RealDomain_MapTranslateUnmap_NoStaleTranslation()
    {
        HostMemory mem = NewMemory();
        var (fd, ioas) = NewIoas(memory: mem);
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, domain, out _));
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x20_0000, 0x20_0000, Va + 0x20_0000));
        Assert.Equal(1, mem.PinCount(Va + 0x3f_f000));

        Assert.True(mem.TryTranslate(Va + 0x20_0123, out ulong pa));
        DmaTranslation t = domain.Translate(0x20_0123, DmaAccess.Write);
        Assert.True(t.IsOk);
        Assert.Equal(pa, t.Pa);
        Assert.Equal(PageSizes.Size2M, t.LeafSize);

        Assert.Equal(Errno.Ok, fd.Unmap(ioas, 0x20_0000, 0x20_0000, out _));
        Assert.False(domain.Translate(0x20_0123, DmaAccess.Read).IsOk);
        Assert.Equal(0, domain.StaleHits);
        Assert.Equal(0, mem.PinCount(Va + 0x20_0000));
    }

    // §2.10 v1: with huge pages disabled the domain is filled with 4 KiB leaves only, so areas can be cut.
    [Fact]
    public void RealDomain_HugePagesOff_MapsSmallLeaves()
    {
        var (fd, ioas) = NewIoas(memory: NewMemory());
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        Assert.Equal(Errno.Ok, ioas.SetHugePages(false));
        fd.AttachDomain(ioas.Id, domain, out _);
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x20_0000, 0x20_0000, Va + 0x20_0000));
        Assert.Equal(PageSizes.Size4K, domain.Translate(0x20_0000, DmaAccess.Read).LeafSize);
        Assert.Equal(512, domain.PageTable.Leaves(IovaRange.Full).Count);
    }
}
