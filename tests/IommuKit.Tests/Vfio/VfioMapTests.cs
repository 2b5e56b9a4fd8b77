using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.3: VFIO_IOMMU_MAP_DMA checks in the kernel's order (v6.18-rc4+).
public class VfioMapTests
{
    [Fact]
    public void Ioctls_before_SET_IOMMU_fail_with_EINVAL()
    {
        // §1.5 / vfio_fops_unl_ioctl: with no IOMMU driver, unrecognised container ioctls return -EINVAL.
        var c = new VfioContainer(new HostMemory(new PhysicalMemory()));
        Assert.Equal(Errno.EINVAL, c.Map(0, P));
        var u = new VfioDmaUnmap(0, P);
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(Errno.EINVAL, c.GetInfo(new VfioIommuInfo(256)));
        var d = new VfioDirtyPages(VfioDirtyPagesFlags.Start);
        Assert.Equal(Errno.EINVAL, c.DirtyPages(ref d));
    }

    [Fact]
    public void SET_IOMMU_twice_is_EINVAL_and_unknown_type_is_ENODEV()
    {
        var c = new VfioContainer(new HostMemory(new PhysicalMemory()));
        Assert.Equal(Errno.ENODEV, c.SetIommu((VfioIommuType)8));
        Assert.Equal(Errno.Ok, c.SetIommu(VfioIommuType.Type1));
        Assert.Equal(Errno.EINVAL, c.SetIommu(VfioIommuType.Type1v2));
        Assert.False(c.IsV2);
    }

    [Fact]
    public void CHECK_EXTENSION_answers_as_type1_does_before_and_after_SET_IOMMU()
    {
        var c = new VfioContainer(new HostMemory(new PhysicalMemory()));
        Assert.Equal(1, c.CheckExtension(VfioExtension.Type1Iommu));
        Assert.Equal(1, c.CheckExtension(VfioExtension.Type1v2Iommu));
        Assert.Equal(1, c.CheckExtension(VfioExtension.UnmapAll));
        Assert.Equal(0, c.CheckExtension(VfioExtension.UpdateVaddr)); // "iommu && !emulated": no container yet
        Assert.Equal(0, c.CheckExtension(VfioExtension.DmaCcIommu));
        Assert.Equal(0, c.CheckExtension(VfioExtension.SpaprTceIommu));
        c.SetIommu(VfioIommuType.Type1v2);
        Assert.Equal(1, c.CheckExtension(VfioExtension.UpdateVaddr));
        Assert.Equal(1, c.CheckExtension(VfioExtension.DmaCcIommu));
    }

    [Fact]
    public void Step1_argsz_below_32_is_EINVAL()
    {
        VfioContainer c = Container();
        var m = new VfioDmaMap(0, P, 0x1000, RW) { Argsz = 31 };
        Assert.Equal(Errno.EINVAL, c.MapDma(m));
        m.Argsz = 32;
        Assert.Equal(Errno.Ok, c.MapDma(m));
    }

    [Fact]
    public void Step1_unknown_flag_bits_are_EINVAL()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, c.Map(0, P, flags: RW | (VfioDmaMapFlags)8));
        Assert.Equal(Errno.EINVAL, c.Map(0, P, flags: RW | (VfioDmaMapFlags)0x8000_0000));
    }

    [Fact]
    public void Step3_size_zero_is_EINVAL_before_the_alignment_check()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, c.Map(0x1234, 0)); // also unaligned, but size 0 comes first
        Assert.Empty(c.Mappings);
    }

    [Fact]
    public void Step4_iova_wrap_is_EOVERFLOW_and_ending_exactly_at_U64_MAX_is_legal()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EOVERFLOW, c.Map(LastPage, 2 * P));
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal([R(LastPage, Top)], c.Ranges());
    }

    [Fact]
    public void Step4_vaddr_wrap_is_EOVERFLOW()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EOVERFLOW, c.Map(0, 2 * P, vaddr: LastPage));
    }

    [Fact]
    public void Step4_overflow_comes_before_the_protection_and_alignment_checks()
    {
        VfioContainer c = Container();
        // No READ/WRITE (step 5) and unaligned (step 6), but the wrap (step 4) is reported.
        Assert.Equal(Errno.EOVERFLOW, c.Map(Top, 0x10, flags: VfioDmaMapFlags.None));
    }

    [Fact]
    public void Step5_no_protection_without_VADDR_is_EINVAL()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, c.Map(0, P, flags: VfioDmaMapFlags.None));
    }

    [Fact]
    public void Step5_VADDR_combined_with_READ_or_WRITE_is_EINVAL_before_the_lookup()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, c.Map(0, P, flags: VfioDmaMapFlags.Vaddr | VfioDmaMapFlags.Read));
        Assert.Equal(Errno.EINVAL, c.Map(0, P, flags: VfioDmaMapFlags.Vaddr | VfioDmaMapFlags.Write));
    }

    [Fact]
    public void Read_only_and_write_only_maps_are_accepted()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0, P, flags: VfioDmaMapFlags.Read));
        Assert.Equal(Errno.Ok, c.Map(P, P, flags: VfioDmaMapFlags.Write));
        Assert.Equal([(true, false), (false, true)], c.Mappings.Select(m => (m.Read, m.Write)));
    }

    [Theory]
    [InlineData(0x800UL, 0x1000UL, 0x1000UL)] // iova
    [InlineData(0x1000UL, 0x1800UL, 0x1000UL)] // size
    [InlineData(0x1000UL, 0x1000UL, 0x1001UL)] // vaddr
    public void Step6_iova_size_or_vaddr_not_page_aligned_is_EINVAL(ulong iova, ulong size, ulong vaddr)
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, c.Map(iova, size, vaddr));
    }

    [Fact]
    public void Step6_alignment_comes_before_the_overlap_check()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.EINVAL, c.Map(0x10800, 0x1000)); // overlaps, but unaligned first
    }

    [Theory]
    [InlineData(0x10000UL, 0x10000UL)] // identical
    [InlineData(0x1f000UL, 0x1000UL)] // last page only
    [InlineData(0xf000UL, 0x2000UL)] // straddles the start
    [InlineData(0UL, 0x100000UL)] // covers it
    [InlineData(0x11000UL, 0x1000UL)] // inside
    public void Step7_any_byte_of_overlap_is_EEXIST(ulong iova, ulong size)
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.EEXIST, c.Map(iova, size));
        Assert.Single(c.Mappings);
        Assert.Equal(VfioContainer.DefaultDmaEntryLimit - 1, c.DmaAvail);
    }

    [Fact]
    public void Adjacent_maps_are_two_records_never_merged()
    {
        // §1.2: one vfio_dma per successful MAP.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.Ok, c.Map(0x20000, 0x10000, vaddr: 0x1001_0000));
        Assert.Equal(Errno.Ok, c.Map(0xf000, 0x1000));
        Assert.Equal([R(0xf000, 0xffff), R(0x10000, 0x1ffff), R(0x20000, 0x2ffff)], c.Ranges());
    }

    [Fact]
    public void Step8_dma_avail_exhausted_is_ENOSPC_and_freed_by_unmap()
    {
        VfioContainer c = Container(limit: 2);
        Assert.Equal(Errno.Ok, c.Map(0, P));
        Assert.Equal(Errno.Ok, c.Map(P, P));
        Assert.Equal(0u, c.DmaAvail);
        Assert.Equal(Errno.ENOSPC, c.Map(2 * P, P));
        Assert.Equal(Errno.Ok, c.Unmap(0, P).Errno);
        Assert.Equal(1u, c.DmaAvail);
        Assert.Equal(Errno.Ok, c.Map(2 * P, P));
    }

    [Fact]
    public void Step7_EEXIST_comes_before_step8_ENOSPC()
    {
        VfioContainer c = Container(limit: 1);
        Assert.Equal(Errno.Ok, c.Map(0, P));
        Assert.Equal(Errno.EEXIST, c.Map(0, P));
        Assert.Equal(Errno.ENOSPC, c.Map(P, P));
    }

    [Fact]
    public void Default_limit_is_65535_mappings()
    {
        VfioContainer c = Container();
        Assert.Equal(65535u, c.DmaAvail);
        for (ulong i = 0; i < 65535; i++)
        {
            Assert.Equal(Errno.Ok, c.Map(i * P, P, vaddr: P));
        }

        Assert.Equal(Errno.ENOSPC, c.Map(65535 * P, P, vaddr: P));
        Assert.Equal(65535, c.MappingCount);
    }

    [Fact]
    public void No_domain_means_all_iovas_are_valid_and_pgsize_is_PAGE_MASK()
    {
        VfioContainer c = Container();
        Assert.Empty(c.ValidIovaRanges);
        Assert.Equal(~0xfffUL, c.PgsizeBitmap);
        Assert.Equal(Errno.Ok, c.Map(0, P));
        Assert.Equal(Errno.Ok, c.Map(0xfee0_0000, P));
        Assert.Equal(Errno.Ok, c.Map(0x8000_0000_0000_0000, 0x4000_0000_0000_0000));
    }

    [Fact]
    public void No_domain_pins_nothing_even_for_unbacked_vaddr()
    {
        // §1.2: without an IOMMU-backed domain MAP records the range without pinning.
        var host = new HostMemory(new PhysicalMemory(), [new HostMemoryRegion(R(0x1000, 0x1fff), HostMemoryPermissions.Read)]);
        VfioContainer c = Container(host: host);
        Assert.Equal(Errno.Ok, c.Map(0, 0x10000, vaddr: 0x7000_0000_0000));
        Assert.Equal(0UL, host.PinnedPages);
        Assert.Null(c.Mappings[0].PinnedVaddr);
    }

    [Fact]
    public void Largest_single_map_is_2_pow_64_minus_a_page()
    {
        // §5: size is a non-zero u64, so the whole space needs at least two MAPs.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(P, Top - 0xfff, vaddr: 0));
        Assert.Equal(Errno.EOVERFLOW, c.Map(2 * P, Top - 0xfff, vaddr: 0));
        Assert.Equal(Errno.Ok, c.Map(0, P, vaddr: 0));
        Assert.Equal([R(0, 0xfff), R(P, Top)], c.Ranges());
    }
}
