using System.Runtime.CompilerServices;
using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Iommu;

public class IotlbTests
{
    private const ulong Size4K = PageSizes.Size4K;
    private const ulong Size2M = PageSizes.Size2M;
    private const ulong Size1G = PageSizes.Size1G;

    private static IotlbEntry Entry(ulong iova, ulong size = Size4K, Permissions perms = Permissions.ReadWrite, long gen = 0) =>
        new(iova, 0x100_0000_0000 + iova, size, perms, gen);

    [Theory]
    [InlineData(512, 8, 64)]
    [InlineData(1, 1, 1)]
    [InlineData(16, 16, 1)]
    [InlineData(12, 3, 4)]
    public void Geometry_sets_are_entries_over_ways(int entries, int ways, int sets)
    {
        var g = new IotlbGeometry(entries, ways);
        Assert.Equal(sets, g.Sets);
        Assert.Equal(entries, new Iotlb(g).Geometry.Entries);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(8, 0)]
    [InlineData(10, 3)]  // not a multiple
    [InlineData(24, 8)]  // 3 sets: not a power of two
    [InlineData(-8, 8)]
    public void Geometry_rejects_bad_shapes(int entries, int ways)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new IotlbGeometry(entries, ways));
    }

    [Fact]
    public void Default_geometry_is_rejected_by_the_iotlb()
    {
        Assert.Throws<ArgumentException>(() => new Iotlb(default));
    }

    [Fact]
    public void Hot_struct_sizes_are_pinned()
    {
        Assert.Equal(40, Unsafe.SizeOf<IotlbEntry>());
        Assert.Equal(32, Unsafe.SizeOf<DmaFault>());
        Assert.Equal(8, Unsafe.SizeOf<IotlbGeometry>());
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(0xffff_ffff_ffff_f000UL)]
    [InlineData(0x7fff_ffff_f000UL)]
    public void Miss_then_fill_then_hit_at_edges(ulong iova)
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        Assert.False(tlb.TryLookup(iova, out _));
        tlb.Insert(Entry(iova, gen: 5));
        Assert.True(tlb.TryLookup(iova + 0xfff, out IotlbEntry hit));
        Assert.Equal(Entry(iova, gen: 5), hit);
        Assert.Equal(0x100_0000_0000 + iova + 0xfff, hit.Translate(iova + 0xfff));
        Assert.False(tlb.TryLookup(iova ^ 0x1000, out _));
        Assert.Equal(new IotlbStats(Hits: 1, Misses: 2, Walks: 0, Fills: 1, Evictions: 0, Invalidations: 0, InvalidatedEntries: 0, EntriesExamined: 0),
            tlb.Stats);
    }

    [Fact]
    public void A_2M_leaf_is_one_entry_hit_across_its_whole_range()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        tlb.Insert(Entry(0x20_0000, Size2M));
        for (ulong iova = 0x20_0000; iova < 0x40_0000; iova += Size4K)
        {
            Assert.True(tlb.TryLookup(iova, out IotlbEntry e));
            Assert.Equal(Size2M, e.LeafSize);
        }

        Assert.False(tlb.TryLookup(0x1f_ffff, out _));
        Assert.False(tlb.TryLookup(0x40_0000, out _));
        Assert.Equal(1, tlb.Count);
        Assert.Equal(512L, tlb.Stats.Hits);
    }

    [Fact]
    public void A_1G_leaf_at_the_top_of_the_space_is_one_entry()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        ulong top = ulong.MaxValue - Size1G + 1;
        tlb.Insert(Entry(top, Size1G));
        Assert.True(tlb.TryLookup(ulong.MaxValue, out IotlbEntry e));
        Assert.Equal(IovaRange.FromFirstLast(top, ulong.MaxValue), e.Range);
        Assert.True(tlb.TryLookup(top, out _));
        Assert.False(tlb.TryLookup(top - 1, out _));
    }

    [Fact]
    public void Leaves_of_all_sizes_coexist_and_smaller_is_probed_first()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        tlb.Insert(Entry(0, Size1G, Permissions.Read));
        tlb.Insert(Entry(0x20_0000, Size2M, Permissions.Write));
        tlb.Insert(Entry(0x20_1000, Size4K, Permissions.ReadWrite));
        Assert.True(tlb.TryLookup(0x20_1000, out IotlbEntry e4));
        Assert.Equal(Size4K, e4.LeafSize);
        Assert.True(tlb.TryLookup(0x20_2000, out IotlbEntry e2));
        Assert.Equal(Size2M, e2.LeafSize);
        Assert.True(tlb.TryLookup(0x3fff_ffff, out IotlbEntry e1));
        Assert.Equal(Size1G, e1.LeafSize);
    }

    [Fact]
    public void Lru_evicts_the_least_recently_used_way_of_the_set()
    {
        var tlb = new Iotlb(new IotlbGeometry(2, 2)); // one set of two ways
        tlb.Insert(Entry(0xa000));
        tlb.Insert(Entry(0xb000));
        Assert.True(tlb.TryLookup(0xa000, out _)); // A is now the most recent
        tlb.Insert(Entry(0xc000));                 // evicts B
        Assert.True(tlb.TryPeek(0xa000, out _));
        Assert.False(tlb.TryPeek(0xb000, out _));
        tlb.Insert(Entry(0xd000));                 // evicts A (C was filled after A's hit)
        Assert.False(tlb.TryPeek(0xa000, out _));
        Assert.True(tlb.TryPeek(0xc000, out _));
        Assert.True(tlb.TryPeek(0xd000, out _));
        Assert.Equal(2L, tlb.Stats.Evictions);
        Assert.Equal(2, tlb.Count);
    }

    [Fact]
    public void A_hit_on_the_most_recent_entry_of_its_set_writes_no_lru_state()
    {
        // Per-set recency: hitting the entry that is already the set's most recent changes nothing, so threads that
        // keep hitting their own entries share no written cache line (and the eviction order is still exact LRU).
        var tlb = new Iotlb(new IotlbGeometry(4, 2)); // two sets of two ways
        tlb.Insert(Entry(0x0000)); // set 0
        tlb.Insert(Entry(0x1000)); // set 1
        long afterFills = tlb.LruUpdates;
        Assert.Equal(2L, afterFills);
        for (int i = 0; i < 100; i++)
        {
            Assert.True(tlb.TryLookup(0x0000, out _));
            Assert.True(tlb.TryLookup(0x1000, out _)); // another set: set 0's most recent entry stays 0x0000
        }

        Assert.Equal(afterFills, tlb.LruUpdates);
        tlb.Insert(Entry(0x2000));                 // set 0: 0x2000 is now the most recent
        Assert.True(tlb.TryLookup(0x0000, out _)); // ... and 0x0000 again: one update
        Assert.Equal(afterFills + 2, tlb.LruUpdates);
        tlb.Insert(Entry(0x4000));                 // set 0 full: evicts 0x2000, the least recently used
        Assert.True(tlb.TryPeek(0x0000, out _));
        Assert.False(tlb.TryPeek(0x2000, out _));
        Assert.True(tlb.TryPeek(0x1000, out _));
    }

    [Fact]
    public void Lock_free_hits_on_the_most_recent_entry_write_no_lru_state()
    {
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        domain.Map(IovaRange.FromStartSize(0x1_0000_0000, 8 * Size4K), 0x8000_0000, Permissions.ReadWrite);
        for (ulong i = 0; i < 8; i++)
        {
            Assert.False(domain.Translate(0x1_0000_0000 + (i << 12), DmaAccess.Read).FromIotlb);
        }

        long updates = domain.Iotlb.LruUpdates;
        for (int round = 0; round < 50; round++)
        {
            for (ulong i = 0; i < 8; i++)
            {
                DmaTranslation t = domain.Translate(0x1_0000_0000 + (i << 12), DmaAccess.Read);
                Assert.True(t.FromIotlb);
                Assert.Equal(0x8000_0000 + (i << 12), t.Pa);
            }
        }

        Assert.Equal(updates, domain.Iotlb.LruUpdates); // 8 pages in 8 different sets: each is its set's most recent
        Assert.Equal(400L, domain.Iotlb.Stats.Hits);
    }

    [Fact]
    public void Sets_are_independent_eviction_stays_in_the_set()
    {
        var tlb = new Iotlb(new IotlbGeometry(4, 2)); // two sets: even pages -> set 0, odd -> set 1
        tlb.Insert(Entry(0x1000));
        tlb.Insert(Entry(0x3000));
        tlb.Insert(Entry(0x0000));
        tlb.Insert(Entry(0x2000));
        tlb.Insert(Entry(0x4000)); // set 0 full: evicts 0x0000, set 1 untouched
        Assert.False(tlb.TryPeek(0x0000, out _));
        Assert.True(tlb.TryPeek(0x1000, out _));
        Assert.True(tlb.TryPeek(0x3000, out _));
        Assert.Equal(1L, tlb.Stats.Evictions);
    }

    [Fact]
    public void Refilling_the_same_leaf_replaces_it_in_place()
    {
        var tlb = new Iotlb(new IotlbGeometry(2, 2));
        tlb.Insert(Entry(0x1000, gen: 1));
        tlb.Insert(Entry(0x1000, perms: Permissions.Read, gen: 2));
        Assert.Equal(1, tlb.Count);
        Assert.True(tlb.TryPeek(0x1000, out IotlbEntry e));
        Assert.Equal(2L, e.Generation);
        Assert.Equal(Permissions.Read, e.Permissions);
        Assert.Equal(0L, tlb.Stats.Evictions);
    }

    [Fact]
    public void Range_invalidation_of_the_full_space_drops_everything_and_costs_entries_not_pages()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        for (ulong i = 0; i < 100; i++)
        {
            tlb.Insert(Entry(i << 30, Size1G));
        }

        tlb.Insert(Entry(ulong.MaxValue - Size4K + 1));
        tlb.ResetStats();

        Assert.Equal(101, tlb.Invalidate(IovaRange.Full));

        Assert.Equal(0, tlb.Count);
        Assert.False(tlb.TryPeek(0, out _));
        // 2^52 4K pages in the range, but the cost is the 512 slots.
        Assert.Equal(512L, tlb.Stats.EntriesExamined);
        Assert.Equal(101L, tlb.Stats.InvalidatedEntries);
        Assert.Equal(1L, tlb.Stats.Invalidations);
    }

    [Fact]
    public void Range_invalidation_drops_only_overlapping_leaves_including_partially_covered_superpages()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        tlb.Insert(Entry(0x0, Size2M));
        tlb.Insert(Entry(0x20_0000));
        tlb.Insert(Entry(0x20_1000));
        tlb.Insert(Entry(0x40_0000, Size2M));

        // One page in the middle of the first 2M leaf, and the 4K page just after it.
        Assert.Equal(2, tlb.Invalidate(IovaRange.FromFirstLast(0x1f_f000, 0x20_0fff)));

        Assert.False(tlb.TryPeek(0x0, out _));
        Assert.False(tlb.TryPeek(0x20_0000, out _));
        Assert.True(tlb.TryPeek(0x20_1000, out _));
        Assert.True(tlb.TryPeek(0x40_0000, out _));
    }

    [Fact]
    public void Page_invalidation_drops_every_leaf_containing_the_page()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        tlb.Insert(Entry(0x20_3000));
        tlb.Insert(Entry(0x20_0000, Size2M));
        tlb.Insert(Entry(0x20_4000));
        Assert.Equal(2, tlb.InvalidatePage(0x20_3abc));
        Assert.False(tlb.TryPeek(0x20_3000, out _));
        Assert.True(tlb.TryPeek(0x20_4000, out IotlbEntry e));
        Assert.Equal(Size4K, e.LeafSize);
        Assert.False(tlb.TryPeek(0x20_5000, out _));
        Assert.Equal(0, tlb.InvalidatePage(0x20_3000));
        Assert.Equal(2L, tlb.Stats.Invalidations);
    }

    [Fact]
    public void Global_invalidation_empties_and_counts()
    {
        var tlb = new Iotlb(new IotlbGeometry(8, 2));
        tlb.Insert(Entry(0));
        tlb.Insert(Entry(0x20_0000, Size2M));
        Assert.Equal(2, tlb.InvalidateAll());
        Assert.Equal(0, tlb.Count);
        Assert.Empty(tlb.ToArray());
        Assert.False(tlb.TryLookup(0x20_0000, out _));
        Assert.Equal(2L, tlb.Stats.InvalidatedEntries);
    }

    [Theory]
    [InlineData(0x1000UL, 0x800UL)]       // below 4K
    [InlineData(0x1000UL, 0x3000UL)]      // not a power of two
    [InlineData(0x1000UL, 0x20_0000UL)]   // base not aligned to 2M
    public void Insert_rejects_bad_leaves(ulong iova, ulong size)
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        Assert.Throws<ArgumentException>(() => tlb.Insert(new IotlbEntry(iova, 0, size, Permissions.Read, 0)));
    }

    [Fact]
    public void Lookups_and_fills_do_not_allocate()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        IotlbEntry e = Entry(0x1000);
        tlb.Insert(e);
        tlb.TryLookup(0x1000, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            tlb.TryLookup(0x1000, out _);
            tlb.TryLookup(0x2000, out _);
            tlb.Insert(e);
            tlb.InvalidatePage(0x9000);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [Fact]
    public void Matches_a_naive_lru_model()
    {
        // Model: per set, a list ordered oldest first; entries of one 4K size in a 4-set, 2-way IOTLB.
        var g = new IotlbGeometry(8, 2);
        Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 31]).Array[1, 60].Sample(ops =>
        {
            var tlb = new Iotlb(g);
            var model = new List<ulong>[g.Sets];
            for (int s = 0; s < model.Length; s++)
            {
                model[s] = [];
            }

            foreach ((int op, ulong pageNo) in ops)
            {
                ulong iova = pageNo << 12;
                List<ulong> set = model[(int)(pageNo & (ulong)(g.Sets - 1))];
                switch (op)
                {
                    case 0:
                        Assert.Equal(set.Contains(iova), tlb.TryLookup(iova, out _));
                        if (set.Remove(iova))
                        {
                            set.Add(iova);
                        }

                        break;
                    case 1:
                        tlb.Insert(Entry(iova));
                        if (!set.Remove(iova) && set.Count == g.Ways)
                        {
                            set.RemoveAt(0);
                        }

                        set.Add(iova);
                        break;
                    default:
                        tlb.InvalidatePage(iova);
                        set.Remove(iova);
                        break;
                }
            }

            Assert.Equal(model.Sum(s => s.Count), tlb.Count);
        }, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void A_small_range_invalidation_probes_the_touched_sets_not_every_slot()
    {
        // 4K unmaps flush one page each: a per-leaf probe (ways tags per cached size) instead of a 512-slot scan.
        var tlb = new Iotlb(IotlbGeometry.Default);
        for (ulong i = 0; i < 64; i++)
        {
            tlb.Insert(Entry(i << 12));
        }

        tlb.Insert(Entry(0x4000_0000, Size2M));
        tlb.ResetStats();

        Assert.Equal(1, tlb.Invalidate(IovaRange.FromStartSize(5 << 12, Size4K)));
        Assert.Equal(16L, tlb.Stats.EntriesExamined); // 8 ways for the 4K set + 8 for the 2M set
        Assert.False(tlb.TryPeek(5 << 12, out _));
        Assert.True(tlb.TryPeek(4 << 12, out _));
        Assert.True(tlb.TryPeek(6 << 12, out _));

        // A 4K range inside the 2M leaf drops the leaf (any overlap), also by probing.
        tlb.ResetStats();
        Assert.Equal(1, tlb.Invalidate(IovaRange.FromStartSize(0x4010_0000, Size4K)));
        Assert.Equal(16L, tlb.Stats.EntriesExamined);
        Assert.False(tlb.TryPeek(0x4000_0000, out _));
        Assert.Equal(63, tlb.Count);
    }

    [Fact]
    public void Probing_invalidation_of_the_top_page_of_the_space_ends_and_drops_it()
    {
        var tlb = new Iotlb(IotlbGeometry.Default);
        ulong top = ulong.MaxValue - Size4K + 1;
        tlb.Insert(Entry(top));
        tlb.Insert(Entry(top - Size4K));
        tlb.ResetStats();

        Assert.Equal(1, tlb.Invalidate(IovaRange.FromFirstLast(top, ulong.MaxValue)));
        Assert.Equal(8L, tlb.Stats.EntriesExamined);
        Assert.False(tlb.TryPeek(ulong.MaxValue, out _));
        Assert.True(tlb.TryPeek(top - 1, out _));
    }

    [Fact]
    public void Probing_and_scanning_invalidation_drop_exactly_the_overlapping_leaves()
    {
        // Model: whatever path Invalidate takes, what stays is exactly the entries whose leaf misses the range.
        ulong[] sizes = [Size4K, Size2M, Size1G];
        Gen.Select(Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 40]).Array[1, 40], Gen.ULong[0, 40 << 9], Gen.ULong[1, 24]) // up to ~14 pages probe, more scan
            .Sample((entries, firstPage, pages) =>
            {
                var tlb = new Iotlb(new IotlbGeometry(64, 4));
                foreach ((int k, ulong n) in entries)
                {
                    tlb.Insert(Entry(n * sizes[k] * (k == 0 ? 37UL : 1UL) % (1UL << 40) & ~(sizes[k] - 1), sizes[k]));
                }

                IotlbEntry[] before = tlb.ToArray();
                IovaRange range = IovaRange.FromStartSize(firstPage << 12, pages << 12);
                int dropped = tlb.Invalidate(range);
                IotlbEntry[] expected = [.. before.Where(e => e.IovaBase + (e.LeafSize - 1) < range.First || e.IovaBase > range.Last)];
                Assert.Equal(before.Length - expected.Length, dropped);
                Assert.Equal(expected.OrderBy(e => e.IovaBase).ThenBy(e => e.LeafSize), tlb.ToArray().OrderBy(e => e.IovaBase).ThenBy(e => e.LeafSize));
            }, seed: "0N0XIzNsQ0O2");
    }
}
