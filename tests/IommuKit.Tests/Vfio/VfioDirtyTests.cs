using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;
using static IommuKit.Tests.Vfio.VfioTestHelpers;

namespace IommuKit.Tests.Vfio;

// linux-vfio-iommufd.md §1.4 steps 2, 7, 9 and §1.5: dirty tracking.
public class VfioDirtyTests
{
    private static Errno Dirty(VfioContainer c, VfioDirtyPagesFlags flags)
    {
        var d = new VfioDirtyPages(flags);
        return c.DirtyPages(ref d);
    }

    private static Errno GetBitmap(VfioContainer c, ulong iova, ulong size, VfioBitmap bitmap)
    {
        var d = new VfioDirtyPages(iova, size, bitmap);
        return c.DirtyPages(ref d);
    }

    private static VfioContainer Tracking(HostMemory? host = null, bool domain = false)
    {
        host ??= new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(host: host);
        if (domain)
        {
            Assert.Equal(Errno.Ok, c.AttachDomain(VfioDomainTests.Domain(host)));
        }

        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x5000_0000));
        Assert.Equal(Errno.Ok, c.Map(0x30000, 0x4000, vaddr: 0x6000_0000));
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        return c;
    }

    [Fact]
    public void Dirty_pages_on_a_v1_container_is_EACCES()
    {
        VfioContainer c = Container(VfioIommuType.Type1);
        Assert.Equal(Errno.EACCES, Dirty(c, VfioDirtyPagesFlags.Start));
    }

    [Theory]
    [InlineData(VfioDirtyPagesFlags.None)]
    [InlineData(VfioDirtyPagesFlags.Start | VfioDirtyPagesFlags.Stop)]
    [InlineData((VfioDirtyPagesFlags)8)]
    public void Dirty_pages_needs_exactly_one_known_flag(VfioDirtyPagesFlags flags)
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.EINVAL, Dirty(c, flags));
        Assert.False(c.DirtyTracking);
    }

    [Fact]
    public void Start_and_stop_are_idempotent()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        Assert.True(c.DirtyTracking);
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Stop));
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Stop));
        Assert.False(c.DirtyTracking);
    }

    [Fact]
    public void Start_with_a_mapping_of_more_than_INT_MAX_pages_is_EINVAL()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0, 0x800_0000_0000)); // 2^31 pages
        Assert.Equal(Errno.EINVAL, Dirty(c, VfioDirtyPagesFlags.Start));
        Assert.False(c.DirtyTracking);
    }

    [Fact]
    public void Map_while_tracking_of_more_than_INT_MAX_pages_is_EINVAL_step11()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        Assert.Equal(Errno.EINVAL, c.Map(0, 0x800_0000_0000));
        Assert.Equal(Errno.Ok, c.Map(0, 0x7ff_ffff_f000));
        Assert.Single(c.Mappings);
    }

    [Fact]
    public void Get_bitmap_without_tracking_is_EINVAL()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, VfioBitmap.Allocate(P, 8)));
    }

    [Fact]
    public void Get_bitmap_argsz_without_room_for_the_range_is_EINVAL()
    {
        VfioContainer c = Tracking();
        var d = new VfioDirtyPages(0x10000, 0x10000, VfioBitmap.Allocate(P, 8)) { Argsz = 8 + 39 };
        Assert.Equal(Errno.EINVAL, c.DirtyPages(ref d));
    }

    [Fact]
    public void Get_bitmap_with_a_bad_bitmap_is_EINVAL()
    {
        VfioContainer c = Tracking();
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, new VfioBitmap(P, 0, new byte[8]))); // size 0
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, VfioBitmap.Allocate(0x800, 8))); // not the min pgsize
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, VfioBitmap.Allocate(0x2000, 8))); // not the min pgsize
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, new VfioBitmap(P, 0x1000_0008, new byte[0x1000_0008]))); // > 256 MiB
    }

    [Fact]
    public void Get_bitmap_too_small_for_the_pages_is_EINVAL_and_one_u64_per_64_pages_suffices()
    {
        VfioContainer c = Tracking();
        // 65 pages need ALIGN(65, 64) / 8 = 16 bytes.
        Assert.Equal(Errno.Ok, c.Map(0x100000, 65 * P, vaddr: 0x7000_0000));
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x100000, 65 * P, VfioBitmap.Allocate(P, 15)));
        Assert.Equal(Errno.Ok, GetBitmap(c, 0x100000, 65 * P, VfioBitmap.Allocate(P, 16)));
    }

    [Fact]
    public void Get_bitmap_null_data_is_EINVAL_access_ok()
    {
        VfioContainer c = Tracking();
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x10000, new VfioBitmap(P, 8, null)));
    }

    [Fact]
    public void Get_bitmap_that_bisects_a_mapping_is_EINVAL()
    {
        VfioContainer c = Tracking();
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x18000, 0x8000, VfioBitmap.Allocate(P, 8)));
        Assert.Equal(Errno.EINVAL, GetBitmap(c, 0x10000, 0x8000, VfioBitmap.Allocate(P, 8)));
    }

    [Fact]
    public void Get_bitmap_wrap_is_EOVERFLOW()
    {
        VfioContainer c = Tracking();
        Assert.Equal(Errno.EOVERFLOW, GetBitmap(c, LastPage, 2 * P, VfioBitmap.Allocate(P, 8)));
    }

    [Fact]
    public void Without_a_domain_only_marked_pages_are_dirty_at_their_bit_offsets_and_reads_clear_them()
    {
        VfioContainer c = Tracking();
        c.MarkDirty(0x12000, 1); // page 2 of the first mapping
        c.MarkDirty(0x31fff, 2); // pages 1 and 2 of the second
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        Assert.Equal(Errno.Ok, GetBitmap(c, 0x10000, 0x24000, bm));
        ulong[] set = Enumerable.Range(0, 64).Select(i => (ulong)i).Where(bm.IsSet).ToArray();
        Assert.Equal([2UL, 0x21, 0x22], set); // second mapping at bit (0x30000 - 0x10000) / 0x1000 = 0x20
        VfioBitmap again = VfioBitmap.Allocate(P, 8);
        Assert.Equal(Errno.Ok, GetBitmap(c, 0x10000, 0x24000, again));
        Assert.All(again.Data!, b => Assert.Equal(0, b));
    }

    [Fact]
    public void With_a_domain_every_mapped_page_reads_dirty()
    {
        VfioContainer c = Tracking(domain: true);
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        Assert.Equal(Errno.Ok, GetBitmap(c, 0x10000, 0x24000, bm));
        for (ulong p = 0; p < 64; p++)
        {
            bool expected = p < 0x10 || (p >= 0x20 && p < 0x24);
            Assert.Equal(expected, bm.IsSet(p));
        }
    }

    [Fact]
    public void Unmap_with_get_dirty_bitmap_reports_the_pages_and_removes_the_mappings()
    {
        VfioContainer c = Tracking();
        c.MarkDirty(0x1f000, P);
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        var u = new VfioDmaUnmap(0x10000, 0x10000, VfioDmaUnmapFlags.GetDirtyBitmap, bm);
        Assert.Equal(Errno.Ok, c.UnmapDma(ref u));
        Assert.Equal(0x10000UL, u.Size);
        Assert.True(bm.IsSet(0xf));
        Assert.False(bm.IsSet(0xe));
        Assert.Single(c.Mappings);
    }

    [Fact]
    public void Unmap_with_get_dirty_bitmap_needs_tracking_and_the_min_pgsize_step7()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        var u = new VfioDmaUnmap(0x10000, 0x10000, VfioDmaUnmapFlags.GetDirtyBitmap, VfioBitmap.Allocate(P, 8));
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Dirty(c, VfioDirtyPagesFlags.Start);
        u = new VfioDmaUnmap(0x10000, 0x10000, VfioDmaUnmapFlags.GetDirtyBitmap, VfioBitmap.Allocate(0x2000, 8));
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Single(c.Mappings);
    }

    [Fact]
    public void Unmap_with_get_dirty_bitmap_and_argsz_without_the_bitmap_is_EINVAL_step2()
    {
        VfioContainer c = Tracking();
        var u = new VfioDmaUnmap(0x10000, 0x10000, VfioDmaUnmapFlags.GetDirtyBitmap, VfioBitmap.Allocate(P, 8)) { Argsz = 24 };
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(2, c.MappingCount);
    }

    [Fact]
    public void Unmap_bitmap_too_small_is_EINVAL_before_anything_is_removed()
    {
        VfioContainer c = Tracking();
        Assert.Equal(Errno.Ok, c.Map(0x100000, 0x100000, vaddr: 0x7000_0000)); // 256 pages need 32 bytes
        var u = new VfioDmaUnmap(0x100000, 0x100000, VfioDmaUnmapFlags.GetDirtyBitmap, VfioBitmap.Allocate(P, 24));
        Assert.Equal(Errno.EINVAL, c.UnmapDma(ref u));
        Assert.Equal(3, c.MappingCount);
    }

    [Fact]
    public void Dirty_bitmap_of_the_last_page_works()
    {
        // §1.6: the dirty bitmap had the (iova + size) bug before v6.18-rc4.
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(LastPage, P));
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        c.MarkDirty(Top, 1);
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        Assert.Equal(Errno.Ok, GetBitmap(c, LastPage, P, bm));
        Assert.True(bm.IsSet(0));
    }

    [Fact]
    public void Bits_below_the_first_mapping_in_its_word_are_kept_and_the_rest_of_the_word_is_rewritten()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x14000, 0x4000));
        Assert.Equal(Errno.Ok, Dirty(c, VfioDirtyPagesFlags.Start));
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        Array.Fill(bm.Data!, (byte)0xff);
        Assert.Equal(Errno.Ok, GetBitmap(c, 0x10000, 0x10000, bm));
        Assert.Equal(0x0fUL, BitConverter.ToUInt64(bm.Data!)); // bits 0-3 kept; 4-63 written (clean)
    }
}

public class VfioDirtyReportingTests
{
    [Fact]
    public void With_devices_that_report_dirty_pages_only_marked_pages_read_dirty_even_when_mapped()
    {
        var host = new HostMemory(new PhysicalMemory());
        VfioContainer c = Container(host: host);
        c.AllMappedPagesDirty = false;
        Assert.Equal(Errno.Ok, c.AttachDomain(VfioDomainTests.Domain(host)));
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000, vaddr: 0x5000_0000));
        var start = new VfioDirtyPages(VfioDirtyPagesFlags.Start);
        Assert.Equal(Errno.Ok, c.DirtyPages(ref start));
        c.MarkDirty(0x13000, 0x2000);
        c.MarkDirty(0x40000, 0x1000); // unmapped: ignored
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        var get = new VfioDirtyPages(0x10000, 0x10000, bm);
        Assert.Equal(Errno.Ok, c.DirtyPages(ref get));
        Assert.Equal(0x18UL, BitConverter.ToUInt64(bm.Data!));
    }

    [Fact]
    public void Mark_dirty_while_not_tracking_records_nothing()
    {
        VfioContainer c = Container();
        Assert.Equal(Errno.Ok, c.Map(0x10000, 0x10000));
        c.MarkDirty(0x10000, 0x1000);
        var start = new VfioDirtyPages(VfioDirtyPagesFlags.Start);
        Assert.Equal(Errno.Ok, c.DirtyPages(ref start));
        VfioBitmap bm = VfioBitmap.Allocate(P, 8);
        var get = new VfioDirtyPages(0x10000, 0x10000, bm);
        Assert.Equal(Errno.Ok, c.DirtyPages(ref get));
        Assert.Equal(0UL, BitConverter.ToUInt64(bm.Data!));
    }
}
