using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Iommu;

public class IommuDomainTests
{
    private const ulong Size4K = PageSizes.Size4K;
    private const ulong Size2M = PageSizes.Size2M;
    private const ulong Size1G = PageSizes.Size1G;
    private const ulong Pa = 0x4000_0000; // 1 GiB aligned target

    private static IommuDomain NewDomain(IommuDomainOptions? options = null) =>
        new(new FrameAllocator(new PhysicalMemory()), options);

    private static IovaRange R(ulong first, ulong size) => IovaRange.FromStartSize(first, size);

    [Fact]
    public void Defaults_follow_the_format()
    {
        IommuDomain d = NewDomain();
        Assert.Equal(PageTableFormat.X86SecondLevel4Level, d.PageTable.Format);
        Assert.Equal(IovaRange.FromFirstLast(0, 0xffff_ffff_ffff), d.Aperture);
        Assert.Equal(PageSizes.X86, d.PageSizes);
        Assert.Empty(d.Reserved);
        Assert.Equal(IotlbGeometry.Default, d.Iotlb.Geometry);
        Assert.Equal(256, d.Faults.Capacity);
    }

    [Fact]
    public void Translate_iova_0_walks_then_hits()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0, Size4K), Pa, Permissions.ReadWrite);

        DmaTranslation first = d.Translate(0, DmaAccess.Read);
        DmaTranslation second = d.Translate(0xfff, DmaAccess.Write);

        Assert.Equal(DmaTranslation.Success(Pa, Permissions.ReadWrite, Size4K, fromIotlb: false), first);
        Assert.Equal(DmaTranslation.Success(Pa + 0xfff, Permissions.ReadWrite, Size4K, fromIotlb: true), second);
        Assert.Equal(1L, d.Iotlb.Stats.Misses);
        Assert.Equal(1L, d.Iotlb.Stats.Walks);
        Assert.Equal(1L, d.Iotlb.Stats.Hits);
        Assert.True(second.TryGetPa(out ulong pa));
        Assert.Equal(Pa + 0xfff, pa);
    }

    [Fact]
    public void The_last_page_under_the_width_translates_and_the_next_byte_is_beyond_width()
    {
        IommuDomain d = NewDomain();
        const ulong lastPage = 0xffff_ffff_f000; // 2^48 - 4K
        d.Map(R(lastPage, Size4K), Pa, Permissions.Read);

        DmaTranslation ok = d.Translate(0xffff_ffff_ffff, DmaAccess.Read);
        DmaTranslation beyond = d.Translate(0x1_0000_0000_0000, DmaAccess.Read, deviceId: 7);
        DmaTranslation top = d.Translate(ulong.MaxValue, DmaAccess.Write, deviceId: 7);

        Assert.Equal(Pa + 0xfff, ok.Pa);
        Assert.Equal(new DmaFault(0x1_0000_0000_0000, DmaAccess.Read, DmaFaultReason.BeyondWidth, 7, 0), beyond.Fault);
        Assert.Equal(DmaFaultReason.BeyondWidth, top.Fault.Reason);
        Assert.Equal(2, d.Faults.Count);
        Assert.Equal(1, d.Iotlb.Count); // faults filled nothing
    }

    [Fact]
    public void Five_level_width_is_57_bits()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { Format = PageTableFormat.X86SecondLevel5Level });
        d.Map(R(0x1ff_ffff_ffff_f000, Size4K), Pa, Permissions.ReadWrite);
        Assert.True(d.Translate(0x1ff_ffff_ffff_ffff, DmaAccess.Write).IsOk);
        Assert.Equal(DmaFaultReason.BeyondWidth, d.Translate(0x200_0000_0000_0000, DmaAccess.Write).Fault.Reason);
    }

    [Fact]
    public void A_2M_leaf_is_one_iotlb_entry_one_miss_then_hits_across_the_whole_2M()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x20_0000, Size2M), Pa, Permissions.ReadWrite);

        for (ulong iova = 0x20_0000; iova < 0x40_0000; iova += Size4K)
        {
            DmaTranslation t = d.Translate(iova + 0x10, DmaAccess.Read);
            Assert.Equal(Pa + (iova - 0x20_0000) + 0x10, t.Pa);
            Assert.Equal(Size2M, t.LeafSize);
        }

        Assert.Equal(1L, d.Iotlb.Stats.Misses);
        Assert.Equal(511L, d.Iotlb.Stats.Hits);
        Assert.Equal(1L, d.Iotlb.Stats.Walks);
        Assert.Equal(1, d.Iotlb.Count);
    }

    [Fact]
    public void A_1G_leaf_is_one_iotlb_entry()
    {
        IommuDomain d = NewDomain();
        d.Map(R(Size1G, Size1G), Pa, Permissions.ReadWrite);

        Assert.False(d.Translate(Size1G, DmaAccess.Write).FromIotlb);
        Assert.True(d.Translate((2 * Size1G) - 1, DmaAccess.Write).FromIotlb);
        Assert.True(d.Translate(Size1G + 0x1234_5678, DmaAccess.Read).FromIotlb);

        Assert.Equal(1L, d.Iotlb.Stats.Misses);
        Assert.Equal(2L, d.Iotlb.Stats.Hits);
        IotlbEntry e = Assert.Single(d.Iotlb.ToArray());
        Assert.Equal(new IotlbEntry(Size1G, Pa, Size1G, Permissions.ReadWrite, 1), e);
    }

    [Fact]
    public void Plain_unmap_leaves_a_stale_hit_until_flush_then_faults_not_present()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x10_0000, Size4K), Pa, Permissions.ReadWrite);
        Assert.True(d.Translate(0x10_0000, DmaAccess.Read).IsOk); // fills the IOTLB

        UnmapResult u = d.Unmap(R(0x10_0000, Size4K));
        Assert.Equal((UInt128)Size4K, u.BytesUnmapped);

        DmaTranslation stale = d.Translate(0x10_0008, DmaAccess.Write);
        Assert.True(stale.IsOk);
        Assert.True(stale.FromIotlb);
        Assert.True(stale.IsStale);
        Assert.Equal(Pa + 8, stale.Pa);
        Assert.Equal(1L, d.StaleHits);
        Assert.Equal(0, d.Faults.Count);

        d.Flush(R(0x10_0000, Size4K));

        DmaTranslation after = d.Translate(0x10_0008, DmaAccess.Write, deviceId: 3);
        Assert.False(after.IsOk);
        Assert.False(after.FromIotlb);
        Assert.Equal(new DmaFault(0x10_0008, DmaAccess.Write, DmaFaultReason.NotPresent, 3, 0), after.Fault);
        Assert.Equal(after.Fault, Assert.Single(d.Faults.ToArray()));
    }

    [Fact]
    public void UnmapAndFlush_faults_immediately()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x10_0000, Size4K), Pa, Permissions.ReadWrite);
        d.Translate(0x10_0000, DmaAccess.Read);

        d.UnmapAndFlush(R(0x10_0000, Size4K));

        DmaTranslation t = d.Translate(0x10_0000, DmaAccess.Read);
        Assert.Equal(DmaFaultReason.NotPresent, t.Fault.Reason);
        Assert.Equal(0, d.Iotlb.Count);
        Assert.Equal(0L, d.StaleHits);
    }

    [Fact]
    public void FlushOnUnmap_option_makes_plain_unmap_strict()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { FlushOnUnmap = true });
        d.Map(R(0x10_0000, Size4K), Pa, Permissions.ReadWrite);
        d.Translate(0x10_0000, DmaAccess.Read);
        d.Unmap(R(0x10_0000, Size4K));
        Assert.Equal(DmaFaultReason.NotPresent, d.Translate(0x10_0000, DmaAccess.Read).Fault.Reason);
    }

    [Fact]
    public void Stale_entry_survives_a_remap_of_the_same_iova_until_flushed()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x10_0000, Size4K), Pa, Permissions.ReadWrite);
        d.Translate(0x10_0000, DmaAccess.Read);
        d.Unmap(R(0x10_0000, Size4K));
        d.Map(R(0x10_0000, Size4K), 2 * Pa, Permissions.ReadWrite);

        DmaTranslation t = d.Translate(0x10_0000, DmaAccess.Read);
        Assert.Equal(Pa, t.Pa);   // the old page, through the stale entry
        Assert.True(t.IsStale);

        d.FlushPage(0x10_0abc);
        DmaTranslation fresh = d.Translate(0x10_0000, DmaAccess.Read);
        Assert.Equal(2 * Pa, fresh.Pa);
        Assert.False(fresh.FromIotlb);
        Assert.False(d.Translate(0x10_0000, DmaAccess.Read).IsStale);
    }

    [Fact]
    public void Entries_not_touched_by_an_unflushed_unmap_are_not_stale()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0, Size2M), Pa, Permissions.ReadWrite); // one 2M leaf
        d.Translate(0x1000, DmaAccess.Read);

        // Partial unmap splits the leaf; the IOTLB still has the 2M entry, stale only for the unmapped page.
        d.Unmap(R(0x1000, Size4K));

        Assert.False(d.Translate(0x2000, DmaAccess.Read).IsStale);
        Assert.True(d.Translate(0x1800, DmaAccess.Read).IsStale);
        Assert.Equal(1L, d.StaleHits);
    }

    [Fact]
    public void Write_to_read_only_faults_on_walk_and_on_hit_and_never_fills()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x1000, Size4K), Pa, Permissions.Read);

        DmaTranslation w = d.Translate(0x1000, DmaAccess.Write);
        Assert.Equal(DmaFaultReason.WriteToReadOnly, w.Fault.Reason);
        Assert.Equal(0, d.Iotlb.Count);

        Assert.True(d.Translate(0x1000, DmaAccess.Read).IsOk); // fills
        DmaTranslation hit = d.Translate(0x1000, DmaAccess.Write);
        Assert.Equal(DmaFaultReason.WriteToReadOnly, hit.Fault.Reason);
        Assert.True(hit.FromIotlb);
        Assert.Equal(DmaFaultReason.WriteToReadOnly, d.Translate(0x1000, DmaAccess.ReadWrite).Fault.Reason);
        Assert.Equal(3, d.Faults.Count);
    }

    [Fact]
    public void Read_of_write_only_faults()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x1000, Size4K), Pa, Permissions.Write);

        Assert.Equal(DmaFaultReason.ReadOfWriteOnly, d.Translate(0x1000, DmaAccess.Read).Fault.Reason);
        Assert.Equal(0, d.Iotlb.Count);
        Assert.True(d.Translate(0x1000, DmaAccess.Write).IsOk);
        Assert.Equal(DmaFaultReason.ReadOfWriteOnly, d.Translate(0x1000, DmaAccess.Read).Fault.Reason);
        Assert.Equal(DmaFaultReason.ReadOfWriteOnly, d.Translate(0x1000, DmaAccess.ReadWrite).Fault.Reason);
    }

    [Fact]
    public void Not_present_faults_are_logged_with_device_and_sequence()
    {
        IommuDomain d = NewDomain();
        d.Translate(0x5000, DmaAccess.Read, deviceId: 1);
        d.Translate(0x6000, DmaAccess.Write, deviceId: 2);
        Assert.Equal(
            [
                new DmaFault(0x5000, DmaAccess.Read, DmaFaultReason.NotPresent, 1, 0),
                new DmaFault(0x6000, DmaAccess.Write, DmaFaultReason.NotPresent, 2, 1),
            ],
            d.Faults.Drain());
    }

    [Fact]
    public void Fault_ring_overflow_flag_is_set_when_faults_outnumber_the_log()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { FaultLogCapacity = 2 });
        for (ulong i = 0; i < 3; i++)
        {
            Assert.False(d.Translate(i << 12, DmaAccess.Read).IsOk);
        }

        Assert.True(d.Faults.Overflow);
        Assert.Equal(2, d.Faults.Count);
        Assert.Equal(1L, d.Faults.Dropped);
    }

    [Fact]
    public void Flush_of_the_full_range_drops_everything_and_costs_iotlb_entries_not_pages()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { Iotlb = new IotlbGeometry(64, 4) });
        d.Map(R(0, 32 * Size4K), Pa, Permissions.ReadWrite);
        for (ulong i = 0; i < 32; i++)
        {
            d.Translate(i << 12, DmaAccess.Read);
        }

        Assert.Equal(32, d.Iotlb.Count);
        d.Iotlb.ResetStats();

        d.Flush(IovaRange.Full);

        Assert.Equal(0, d.Iotlb.Count);
        Assert.Equal(64L, d.Iotlb.Stats.EntriesExamined);
        Assert.Equal(32L, d.Iotlb.Stats.InvalidatedEntries);
    }

    [Fact]
    public void Lru_eviction_in_a_tiny_iotlb_forces_walks()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { Iotlb = new IotlbGeometry(2, 2) });
        d.Map(R(0, 3 * Size4K), Pa, Permissions.ReadWrite);
        d.Translate(0x0000, DmaAccess.Read);
        d.Translate(0x1000, DmaAccess.Read);
        d.Translate(0x0000, DmaAccess.Read); // hit: 0x1000 is now least recent
        d.Translate(0x2000, DmaAccess.Read); // evicts 0x1000
        Assert.True(d.Translate(0x0000, DmaAccess.Read).FromIotlb);
        Assert.False(d.Translate(0x1000, DmaAccess.Read).FromIotlb);
        Assert.Equal(2L, d.Iotlb.Stats.Evictions);
        Assert.Equal(4L, d.Iotlb.Stats.Walks);
    }

    [Fact]
    public void Map_outside_the_aperture_or_into_a_reserved_range_is_refused_and_changes_nothing()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions
        {
            Aperture = IovaRange.FromFirstLast(0, 0xffff_ffff),
            Reserved = [IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)],
        });

        Assert.Equal(DomainRangeStatus.OutsideAperture, d.CheckRange(R(0xffff_f000, 2 * Size4K)));
        Assert.Equal(PageTableStatus.BeyondWidth, d.TryMap(R(0xffff_f000, 2 * Size4K), Pa, Permissions.ReadWrite));
        Assert.Equal(DomainRangeStatus.Reserved, d.CheckRange(R(0xfeef_f000, Size4K)));
        Assert.Equal(PageTableStatus.AlreadyMapped, d.TryMap(R(0xfed0_0000, Size2M), Pa, Permissions.ReadWrite));
        Assert.Throws<InvalidOperationException>(() => d.Map(R(0xfee0_0000, Size4K), Pa, Permissions.ReadWrite));
        Assert.Equal(0L, d.Generation);
        Assert.Empty(d.PageTable.Leaves(IovaRange.Full));

        Assert.Equal(PageTableStatus.Ok, d.TryMap(R(0xffff_f000, Size4K), Pa, Permissions.ReadWrite));
        Assert.Equal(1L, d.Generation);
    }

    [Fact]
    public void Aperture_beyond_the_width_or_unaligned_is_a_caller_mistake()
    {
        Assert.Throws<ArgumentException>(() => NewDomain(new IommuDomainOptions { Aperture = IovaRange.Full }));
        Assert.Throws<ArgumentException>(() => NewDomain(new IommuDomainOptions { Aperture = IovaRange.FromFirstLast(0x800, 0xffff) }));
    }

    [Fact]
    public void Only_4K_page_sizes_map_a_2M_range_as_512_entries()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { PageSizes = PageSizes.Only4K });
        d.Map(R(0, Size2M), Pa, Permissions.ReadWrite);
        Assert.Equal(Size4K, d.Translate(0x1f_f000, DmaAccess.Read).LeafSize);
        Assert.Equal(PageSizes.Only4K, d.PageSizes);
    }

    [Fact]
    public void Translate_hit_miss_and_fault_do_not_allocate()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { Iotlb = new IotlbGeometry(4, 4), FaultLogCapacity = 1 });
        d.Map(R(0, 64 * Size4K), Pa, Permissions.Read);
        d.Translate(0, DmaAccess.Read);
        d.Translate(0, DmaAccess.Read); // this thread's first hit creates its hit counters, once
        d.Translate(0x1000, DmaAccess.Write);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (ulong i = 0; i < 1000; i++)
        {
            d.Translate(0, DmaAccess.Read);                 // hit
            d.Translate((i % 64) << 12, DmaAccess.Read);    // walks, evictions
            d.Translate(0x1000, DmaAccess.Write);           // permission fault
            d.Translate(1UL << 50, DmaAccess.Read);         // beyond width
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Translate_matches_the_page_table_walk_for_random_maps_unmaps_with_flushes()
    {
        // Model check: with every unmap flushed, a translation through the IOTLB equals a direct walk.
        Gen.Select(Gen.Int[0, 3], Gen.ULong[0, 63], Gen.ULong[1, 4]).Array[1, 80].Sample(ops =>
        {
            IommuDomain d = NewDomain(new IommuDomainOptions { Iotlb = new IotlbGeometry(8, 2) });
            foreach ((int op, ulong page, ulong pages) in ops)
            {
                IovaRange range = R(page << 12, pages << 12);
                switch (op)
                {
                    case 0:
                        d.TryMap(range, Pa + (page << 12), (Permissions)((int)(pages % 3) + 1));
                        break;
                    case 1:
                        d.UnmapAndFlush(range);
                        break;
                    default:
                        ulong iova = (page << 12) + pages;
                        PageTranslation walk = d.PageTable.Translate(iova);
                        DmaTranslation t = d.Translate(iova, DmaAccess.Read);
                        bool allowed = walk.IsPresent && (walk.Permissions & Permissions.Read) != 0;
                        Assert.Equal(allowed, t.IsOk);
                        Assert.False(t.IsStale);
                        if (allowed)
                        {
                            Assert.Equal(walk.Pa, t.Pa);
                        }

                        break;
                }
            }
        }, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Translation_result_size_is_pinned()
    {
        // 32 bytes: a success and a fault share the words (an IOTLB hit writes four stores, not seven).
        Assert.Equal(32, System.Runtime.CompilerServices.Unsafe.SizeOf<DmaTranslation>());
    }

    [Theory]
    [InlineData(0UL, 0L, 0)]
    [InlineData(ulong.MaxValue, long.MaxValue, int.MaxValue)]
    [InlineData(0xffff_ffff_ffff_f000UL, long.MinValue, -1)]
    public void A_fault_and_a_success_read_back_every_field_although_they_share_storage(ulong iova, long sequence, int deviceId)
    {
        var fault = new DmaFault(iova, DmaAccess.ReadWrite, DmaFaultReason.BeyondWidth, deviceId, sequence);
        DmaTranslation f = DmaTranslation.Faulted(fault, fromIotlb: true);
        Assert.False(f.IsOk);
        Assert.Equal(fault, f.Fault);
        Assert.Equal(0UL, f.Pa);
        Assert.Equal(0UL, f.LeafSize);
        Assert.Equal(Permissions.None, f.Permissions);
        Assert.True(f.FromIotlb);
        Assert.False(f.IsStale);

        DmaTranslation ok = DmaTranslation.Success(iova, Permissions.Write, 1UL << 30, fromIotlb: false, isStale: true);
        Assert.True(ok.IsOk);
        Assert.Equal(iova, ok.Pa);
        Assert.Equal(1UL << 30, ok.LeafSize);
        Assert.Equal(Permissions.Write, ok.Permissions);
        Assert.Equal(default, ok.Fault);
        Assert.False(ok.FromIotlb);
        Assert.True(ok.IsStale);
        Assert.NotEqual(ok, f);
        Assert.Equal(default, DmaTranslation.Faulted(default));
        Assert.NotEqual(DmaTranslation.Faulted(default), DmaTranslation.Faulted(default, fromIotlb: true));
    }

    [Fact]
    public void Translation_results_format_and_deconstruct()
    {
        IommuDomain d = NewDomain();
        d.Map(R(0x20_0000, Size2M), Pa, Permissions.ReadWrite);
        DmaTranslation walk = d.Translate(0x20_0010, DmaAccess.ReadWrite);
        Assert.Equal("0x40000010 (2M, walk)", walk.ToString());
        Assert.False(walk.TryGetFault(out _));
        DmaTranslation fault = d.Translate(0, DmaAccess.Read, deviceId: 9);
        Assert.Equal("fault: read 0x0 not-present dev 9 #0", fault.ToString());
        Assert.False(fault.TryGetPa(out ulong pa));
        Assert.Equal(0UL, pa);
        Assert.True(fault.TryGetFault(out DmaFault f));
        Assert.Equal(DmaFaultReason.NotPresent, f.Reason);
    }

    [Fact]
    public void Past_the_unflushed_unmap_records_stale_hits_are_found_by_walking()
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { PageSizes = PageSizes.Only4K });
        int n = IommuDomain.MaxUnflushedUnmaps + 1;
        d.Map(R(0, (ulong)(n + 1) * Size4K), Pa, Permissions.ReadWrite);
        d.Translate(0, DmaAccess.Read);          // cached, will be unmapped by the last unmap
        d.Translate((ulong)n << 12, DmaAccess.Read); // cached, never unmapped
        for (int i = n; i >= 1; i--)
        {
            d.Unmap(R((ulong)(i - 1) << 12, Size4K)); // page 0 last: past the record limit
        }

        Assert.True(d.Translate(0x10, DmaAccess.Read).IsStale);
        Assert.False(d.Translate((ulong)n << 12, DmaAccess.Read).IsStale);

        d.FlushAll();
        Assert.Equal(DmaFaultReason.NotPresent, d.Translate(0x10, DmaAccess.Read).Fault.Reason);
        Assert.False(d.Translate((ulong)n << 12, DmaAccess.Read).IsStale);
    }

    [Theory]
    [InlineData(PageTableFormat.X86SecondLevel4Level)]
    [InlineData(PageTableFormat.X86SecondLevel5Level)]
    [InlineData(PageTableFormat.ArmLpae48)]
    public void Every_format_translates_through_the_iotlb(PageTableFormat format)
    {
        IommuDomain d = NewDomain(new IommuDomainOptions { Format = format });
        d.Map(R(Size1G, Size1G + Size2M + Size4K), Pa, Permissions.ReadWrite);
        foreach (ulong iova in new[] { Size1G, (2 * Size1G) + 0x1234, (2 * Size1G) + Size2M + 0xfff })
        {
            DmaTranslation walk = d.Translate(iova, DmaAccess.Write);
            DmaTranslation hit = d.Translate(iova, DmaAccess.Write);
            Assert.Equal(Pa + (iova - Size1G), walk.Pa);
            Assert.Equal(walk.Pa, hit.Pa);
            Assert.True(hit.FromIotlb);
        }

        Assert.Equal(3, d.Iotlb.Count); // a 1G, a 2M and a 4K leaf
        Assert.Equal([Size4K, Size2M, Size1G], d.Iotlb.ToArray().Select(e => e.LeafSize).Order());
    }
}
