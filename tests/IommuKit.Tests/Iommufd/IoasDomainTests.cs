using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using static IommuKit.Tests.Iommufd.IommufdTestKit;

namespace IommuKit.Tests.Iommufd;

public class IoasDomainTests
{
    private const ulong Va = 0x7f00_0000_0000;

    // The selftest mock domain: aperture [16 MiB, 2 GiB - 1], 2 KiB IO pages (§0).
    private static FakeDomain Mock() =>
        new(PageSizes.Of(2048, 1 << 20), R(0x100_0000, 0x7FFF_FFFF));

    private static FakeDomain X86(params IovaRange[] reserved) =>
        new(PageSizes.X86, R(0, (1UL << 48) - 1), reserved);

    private static (global::IommuKit.Iommufd.Iommufd Fd, Ioas Ioas, HostMemory Mem) WithMemory()
    {
        HostMemory mem = NewMemory();
        var (fd, ioas) = NewIoas(memory: mem);
        return (fd, ioas, mem);
    }

    // linux-vfio-iommufd.md §2.2/§2.6: attaching the mock domain reserves the aperture complement and raises the
    // alignment to its smallest page: IOVA_RANGES gives [{0x1000000, 0x7FFFFFFF}], alignment 2048.
    [Fact]
    public void Attach_MockDomain_ReservesApertureComplement_Alignment2048()
    {
        var (fd, ioas, _) = WithMemory();
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, Mock(), out uint hwpt));
        Assert.NotEqual(ioas.Id, hwpt);
        Assert.Equal([R(0x100_0000, 0x7FFF_FFFF)], ioas.IovaRanges);
        Assert.Equal(2048UL, ioas.IovaAlignment);
    }

    // §2.2: a domain whose smallest page is above PAGE_SIZE is EINVAL.
    [Fact]
    public void Attach_SmallestPageAbovePageSize_Einval()
    {
        var (fd, ioas, _) = WithMemory();
        Assert.Equal(Errno.EINVAL, fd.AttachDomain(ioas.Id, new FakeDomain(PageSizes.Of(PageSizes.Size2M), IovaRange.Full), out _));
        Assert.Equal(0, ioas.DomainCount);
        Assert.Empty(ioas.ReservedRanges);
    }

    // §2.2: raising the alignment fails with EADDRINUSE when an existing area is misaligned.
    [Fact]
    public void Attach_RaisesAlignment_MisalignedAreaEaddrinuse()
    {
        var (fd, ioas, _) = WithMemory();
        fd.MapFixed(ioas, 0x100_0800, 0x800, Va + 0x800);
        Assert.Equal(Errno.EADDRINUSE, fd.AttachDomain(ioas.Id, X86(), out _));
        Assert.Equal(1UL, ioas.IovaAlignment);

        // The mock domain's 2 KiB page is satisfied by the same area.
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, Mock(), out _));
        Assert.Equal(2048UL, ioas.IovaAlignment);
    }

    // §2.2: an area outside the aperture makes the aperture reservation fail: EADDRINUSE, nothing reserved.
    [Fact]
    public void Attach_AreaOutsideAperture_EaddrinuseNothingReserved()
    {
        var (fd, ioas, _) = WithMemory();
        fd.MapFixed(ioas, 0x1000, 0x1000, Va);
        Assert.Equal(Errno.EADDRINUSE, fd.AttachDomain(ioas.Id, Mock(), out _));
        Assert.Empty(ioas.ReservedRanges);
        Assert.Equal(0, ioas.DomainCount);
    }

    // §2.2: the domain's reserved regions are reserved too; one intersecting an allowed range is EADDRINUSE.
    [Fact]
    public void Attach_DeviceReservedRegion_IntersectingAllowed_Eaddrinuse()
    {
        var (fd, ioas, _) = WithMemory();
        fd.Allow(ioas, new IommuIovaRange(0xfe00_0000, 0xfeff_ffff));
        Assert.Equal(Errno.EADDRINUSE, fd.AttachDomain(ioas.Id, X86(R(0xfee0_0000, 0xfeef_ffff)), out _));
        Assert.Empty(ioas.ReservedRanges);
        fd.Allow(ioas);
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, X86(R(0xfee0_0000, 0xfeef_ffff)), out _));
        Assert.Equal([R(0xfee0_0000, 0xfeef_ffff), R(1UL << 48, U64Max)], ioas.ReservedRanges);
    }

    // §2.2 lazy pinning: with no domain MAP pins nothing; attaching pins (once) and maps; detaching unpins.
    [Fact]
    public void LazyPinning_AttachPinsAndMaps_DetachUnpins()
    {
        var (fd, ioas, mem) = WithMemory();
        fd.MapFixed(ioas, 0x10_0000, 0x4000, Va);
        Assert.Equal(0, mem.PinCount(Va));
        var domain = X86();
        Assert.Equal(Errno.Ok, fd.AttachDomain(ioas.Id, domain, out uint hwpt));
        Assert.Equal(1, mem.PinCount(Va));
        Assert.Equal(1, mem.PinCount(Va + 0x3000));
        Assert.Equal((UInt128)0x4000, domain.MappedBytes);
        mem.TryTranslate(Va, out ulong pa);
        Assert.True(domain.Mapped.TryFind(0x10_0000, out RangeMapEntry<ulong> e));
        Assert.Equal(pa, e.Value);

        Assert.Equal(Errno.Ok, fd.Destroy(hwpt));
        Assert.Equal(0, mem.PinCount(Va));
        Assert.Equal((UInt128)0, domain.MappedBytes);
        Assert.Equal(1UL, ioas.IovaAlignment);
    }

    // §2.2: attaching pins and fails with EFAULT when the memory is gone; nothing is left pinned, mapped or reserved.
    [Fact]
    public void Attach_MemoryGone_EfaultAllUndone()
    {
        HostMemory mem = NewMemory(new HostMemoryRegion(R(Va, Va + 0xffff), HostMemoryPermissions.ReadWrite));
        var (fd, ioas) = NewIoas(memory: mem);
        fd.MapFixed(ioas, 0x10_0000, 0x1000, Va);
        fd.MapFixed(ioas, 0x20_0000, 0x1000, Va + 0x10_0000); // not backed
        var domain = X86();
        Assert.Equal(Errno.EFAULT, fd.AttachDomain(ioas.Id, domain, out _));
        Assert.Equal(0, mem.PinCount(Va));
        Assert.Equal((UInt128)0, domain.MappedBytes);
        Assert.Empty(ioas.ReservedRanges);
        Assert.Equal(1UL, ioas.IovaAlignment);
    }

    // §2.2: with a domain, MAP pins at once; EFAULT for unbacked memory leaves no area.
    [Fact]
    public void MapWithDomain_PinsEagerly_EfaultLeavesNothing()
    {
        HostMemory mem = NewMemory(new HostMemoryRegion(R(Va, Va + 0xffff), HostMemoryPermissions.ReadWrite));
        var (fd, ioas) = NewIoas(memory: mem);
        var domain = X86();
        fd.AttachDomain(ioas.Id, domain, out _);
        Assert.Equal(Errno.Ok, fd.MapFixed(ioas, 0x10_0000, 0x2000, Va));
        Assert.Equal(1, mem.PinCount(Va + 0x1000));
        Assert.Equal(Errno.EFAULT, fd.MapFixed(ioas, 0x20_0000, 0x2000, Va + 0xf000));
        Assert.Single(ioas.Mappings);
        Assert.Equal(0, mem.PinCount(Va + 0xf000));
        Assert.Equal((UInt128)0x2000, domain.MappedBytes);
    }

    // §2.2/§2.8: COPY shares the pin: the page stays pinned once (refcount 1) with two areas and two domains.
    [Fact]
    public void Copy_SharesPins_PinCountOne()
    {
        var (fd, src, mem) = WithMemory();
        Ioas dst = fd.CreateIoas();
        fd.AttachDomain(src.Id, X86(), out _);
        var dstDomain = X86();
        fd.AttachDomain(dst.Id, dstDomain, out _);
        fd.AttachDomain(src.Id, X86(), out _);
        fd.MapFixed(src, 0x10_0000, 0x4000, Va);
        ulong d = 0x80_0000;
        Assert.Equal(Errno.Ok, fd.Copy(src, 0x10_0000, 0x4000, dst, ref d));
        Assert.Equal(1, mem.PinCount(Va));
        Assert.Equal(1, mem.PinCount(Va + 0x3000));
        Assert.Equal((UInt128)0x4000, dstDomain.MappedBytes);

        // Unmapping the source keeps the pin for the copy.
        Assert.Equal(Errno.Ok, fd.Unmap(src, 0, U64Max, out _));
        Assert.Equal(1, mem.PinCount(Va));
        Assert.Equal(Errno.Ok, fd.Unmap(dst, 0, U64Max, out _));
        Assert.Equal(0, mem.PinCount(Va));
    }

    // §2.10: disabling huge pages with domains and areas is EINVAL.
    [Fact]
    public void HugePagesOff_WithDomainsAndAreas_Einval()
    {
        var (fd, ioas, _) = WithMemory();
        fd.AttachDomain(ioas.Id, X86(), out _);
        Assert.Equal(Errno.Ok, ioas.SetHugePages(false));
        Assert.Equal(Errno.Ok, ioas.SetHugePages(true));
        fd.MapFixed(ioas, 0x1000, 0x1000, Va);
        Assert.Equal(Errno.EINVAL, ioas.SetHugePages(false));
        Assert.True(ioas.HugePages);
    }

    // Destroying an IOAS with an attached domain is EBUSY; a bad id ENOENT.
    [Fact]
    public void Destroy_IoasWithDomain_Ebusy()
    {
        var (fd, ioas, _) = WithMemory();
        fd.AttachDomain(ioas.Id, X86(), out uint hwpt);
        Assert.Equal(Errno.EBUSY, fd.Destroy(ioas.Id));
        Assert.Equal(Errno.ENOENT, fd.Destroy(99));
        Assert.Equal(Errno.Ok, fd.Destroy(hwpt));
        Assert.Equal(Errno.Ok, fd.Destroy(ioas.Id));
        Assert.False(fd.TryGetIoas(ioas.Id, out _));
    }

    // A failing domain map leaves the area unmapped everywhere and unpinned (all-or-nothing fill).
    [Fact]
    public void MapWithDomain_SecondDomainFails_AllUndone()
    {
        var (fd, ioas, mem) = WithMemory();
        var first = X86();
        var second = X86();
        fd.AttachDomain(ioas.Id, first, out _);
        fd.AttachDomain(ioas.Id, second, out _);
        second.FailNextMapWith = Errno.ENOMEM;
        Assert.Equal(Errno.ENOMEM, fd.MapFixed(ioas, 0x1000, 0x1000, Va));
        Assert.Empty(ioas.Mappings);
        Assert.Equal((UInt128)0, first.MappedBytes);
        Assert.Equal(0, mem.PinCount(Va));
    }
}
