using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.PageTables;

/// <summary>
/// Scaling proofs for the engine (issue 6): costs counted in entries read and table pages, never timed. VT-d second
/// level, 4 levels, 4K leaves only unless stated.
/// </summary>
public class PageTableScalingTests
{
    private const int Levels = 4;
    private const ulong K4 = PageSizes.Size4K;
    private const ulong PaBase = 0x40_0000_0000;
    private static readonly ulong RootSlot = PageTableLayout.EntrySpan(Levels); // 512 GiB

    private static IoPageTable NewTable(PageSizes? sizes = null) =>
        IoPageTable.Create(PageTableFormat.X86SecondLevel4Level, new FrameAllocator(new PhysicalMemory()), sizes ?? PageSizes.Only4K);

    /// <summary>P pages, each in its own root slot, so every one of them has its own 3 tables below the root.</summary>
    private static IoPageTable Scattered(int p)
    {
        IoPageTable t = NewTable();
        for (int i = 0; i < p; i++)
        {
            t.Map(IovaRange.FromStartSize(((ulong)i * 37 % 512 * RootSlot) + ((ulong)i * K4), K4), PaBase + ((ulong)i * K4), Permissions.ReadWrite);
        }

        return t;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    public void Unmap_of_the_full_space_reads_one_page_per_live_table(int p)
    {
        IoPageTable t = Scattered(p);
        Assert.Equal(1 + (p * (Levels - 1)), t.TablePages);

        // The two end-point translates that decide whether a huge leaf straddles an end of the range.
        t.Counters.Reset();
        t.Translate(0);
        t.Translate(t.AddressRange.Last);
        long endPoints = t.Counters.EntriesRead;
        Assert.InRange(endPoints, 2, 2 * Levels);
        t.Counters.Reset();
        UnmapResult r = t.Unmap(IovaRange.Full);
        Assert.Equal(p, r.LeavesCleared);

        // Exactly: the root's 512 entries, 512 per table below it, plus the end-point translates.
        long expected = 512 + ((long)p * (Levels - 1) * 512) + endPoints;
        Assert.Equal(expected, t.Counters.EntriesRead);
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public void Visit_of_the_full_space_reads_one_page_per_live_table(int p)
    {
        IoPageTable t = Scattered(p);
        t.Counters.Reset();
        Assert.Equal(p, t.Leaves(IovaRange.Full).Count);
        Assert.Equal(512 + ((long)p * (Levels - 1) * 512), t.Counters.EntriesRead);
        Assert.Equal(1 + ((long)p * (Levels - 1)), t.Counters.TablePagesTouched);
    }

    [Fact]
    public void An_empty_table_is_visited_by_reading_the_root_page_only()
    {
        IoPageTable t = NewTable();
        t.Counters.Reset();
        Assert.Empty(t.Leaves(IovaRange.Full));
        Assert.Equal(1, t.Counters.TablePagesTouched);
        Assert.Equal(512, t.Counters.EntriesRead);
    }

    [Fact]
    public void Unmapping_page_by_page_in_random_order_returns_every_table_but_the_root()
    {
        IoPageTable t = NewTable();
        var rng = new Random(6);
        var pages = new List<ulong>();
        for (int i = 0; i < 3000; i++)
        {
            // Spread over 2^48: mostly one page per leaf table, some sharing.
            ulong iova = ((ulong)rng.NextInt64(0, 1L << 36) << 12) & ~(K4 - 1);
            if (t.TryMap(IovaRange.FromStartSize(iova, K4), PaBase, Permissions.Read) == PageTableStatus.Ok)
            {
                pages.Add(iova);
            }
        }

        Assert.True(t.TablePages > pages.Count); // sparse: more than one table per page on average
        rng.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pages));
        foreach (ulong iova in pages)
        {
            Assert.Equal(1, t.Unmap(IovaRange.FromStartSize(iova, K4)).LeavesCleared);
        }

        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);

        // The storage of freed tables goes back too, beyond a small reuse cache.
        Assert.InRange(t.Memory.TouchedPages, 1, 1 + FrameAllocator.RetainedFreeFrames);
    }

    [Fact]
    public void Dense_4K_mappings_cost_8_bytes_per_page_plus_one_512th()
    {
        // 64 full leaf tables (128 MiB of IOVA) in one call: 64 leaf tables + one L2 + one L3 + the root.
        IoPageTable t = NewTable();
        const int leafTables = 64;
        const ulong pages = leafTables * 512;
        t.Map(IovaRange.FromStartSize(0x80_0000_0000, pages * K4), PaBase, Permissions.ReadWrite);
        Assert.Equal(leafTables + 3, t.TablePages);

        // Leaf tables: exactly 8 B per page. Upper tables: one per 512 tables below.
        Assert.Equal(pages * 8, (ulong)leafTables * PhysicalMemory.PageSize);
        Assert.Equal(1 + 2 + leafTables, t.Memory.TouchedPages); // the pages actually held: root, L3, L2, 64 L1
        Assert.Equal(t.TablePages, t.Frames.AllocatedFrames);
    }

    [Fact]
    public void A_256_page_batch_map_writes_each_leaf_once_and_walks_from_the_root_once()
    {
        IoPageTable t = NewTable();
        IovaRange r = IovaRange.FromStartSize(0x1_0000_0000, 256 * K4);
        t.Counters.Reset();
        t.Map(r, PaBase, Permissions.ReadWrite);

        // Written: 3 new table entries (L4, L3, L2) + 256 leaves. Read: the overlap check (one entry per level;
        // the leaf table does not exist yet) and the placing walk's 3 upper entries.
        Assert.Equal(3 + 256, t.Counters.EntriesWritten);
        Assert.True(t.Counters.EntriesRead <= 2 * Levels, $"read {t.Counters.EntriesRead}");

        t.Counters.Reset();
        UnmapResult u = t.Unmap(r);
        Assert.Equal(256, u.LeavesCleared);
        Assert.Equal(3, u.TablesFreed);
        Assert.Equal(256 + 3, t.Counters.EntriesWritten);
    }

    [Fact]
    public void A_single_page_map_walks_from_the_root_once()
    {
        IoPageTable t = NewTable();
        ulong iova = 0x12_3456_7000;

        // Into an empty table: the 3 upper entries are read (all empty), 3 tables created, the leaf written; the new
        // leaf table's slot is known empty without reading it.
        t.Counters.Reset();
        t.Map(IovaRange.FromStartSize(iova, K4), PaBase, Permissions.ReadWrite);
        Assert.Equal(Levels - 1, t.Counters.EntriesRead);
        Assert.Equal((Levels - 1) + 1, t.Counters.EntriesWritten);

        // Next to it: 3 table entries and the leaf slot itself read, one entry written.
        t.Counters.Reset();
        t.Map(IovaRange.FromStartSize(iova + K4, K4), PaBase + K4, Permissions.ReadWrite);
        Assert.Equal(Levels, t.Counters.EntriesRead);
        Assert.Equal(1, t.Counters.EntriesWritten);

        // Onto it: refused after the same single walk, nothing written.
        t.Counters.Reset();
        Assert.Equal(PageTableStatus.AlreadyMapped, t.TryMap(IovaRange.FromStartSize(iova, K4), PaBase, Permissions.Read));
        Assert.Equal(0, t.Counters.EntriesWritten);
        Assert.Equal(PaBase + K4, t.Translate(iova + K4).Pa);
    }

    [Fact]
    public void A_single_page_unmap_reads_one_entry_per_level_and_frees_the_tables_it_empties()
    {
        IoPageTable t = NewTable();
        ulong iova = 0x12_3456_7000;
        t.Map(IovaRange.FromStartSize(iova, 2 * K4), PaBase, Permissions.ReadWrite);
        Assert.Equal(Levels, t.TablePages);

        t.Counters.Reset();
        UnmapResult first = t.Unmap(IovaRange.FromStartSize(iova, K4));
        Assert.Equal((1, 0), (first.LeavesCleared, first.TablesFreed));
        Assert.Equal((UInt128)K4, first.BytesUnmapped);
        Assert.Equal(Levels, t.Counters.EntriesRead);
        Assert.Equal(1, t.Counters.EntriesWritten);

        // The last leaf: its leaf table, then the L2 and L3 tables empty in turn and go back; the root stays.
        t.Counters.Reset();
        UnmapResult last = t.Unmap(IovaRange.FromStartSize(iova + K4, K4));
        Assert.Equal((1, Levels - 1), (last.LeavesCleared, last.TablesFreed));
        Assert.Equal(Levels, t.Counters.EntriesRead);
        Assert.Equal(1 + (Levels - 1), t.Counters.EntriesWritten);
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);

        // Nothing there any more: one entry read (the root's), nothing written.
        t.Counters.Reset();
        Assert.Equal(0, t.Unmap(IovaRange.FromStartSize(iova, K4)).LeavesCleared);
        Assert.Equal(1, t.Counters.EntriesRead);
        Assert.Equal(0, t.Counters.EntriesWritten);
    }

    [Fact]
    public void A_foreign_write_into_a_table_page_is_seen_before_the_table_is_freed()
    {
        // The engine's per-table count of non-zero entries only sees its own writes. A write through PhysicalMemory
        // into the pool (a guest scribbling on our tables) makes emptiness checks scan the page again, so a table
        // holding a foreign non-zero entry is kept rather than freed with it.
        IoPageTable t = NewTable();
        ulong iova = 0x12_3456_7000;
        t.Map(IovaRange.FromStartSize(iova, K4), PaBase, Permissions.ReadWrite);
        var tables = new List<(ulong Pa, int Level)>();
        var visitor = new TableCollector(tables);
        t.Visit(IovaRange.FromStartSize(iova, K4), ref visitor);
        ulong leafTable = tables.Single(x => x.Level == 1).Pa;

        // A non-present but non-zero entry (R = W = 0) in another slot of the leaf table.
        t.Memory.WriteUInt64(leafTable + (8 * 100), 0x5000);
        UnmapResult r = t.Unmap(IovaRange.FromStartSize(iova, K4));
        Assert.Equal((1, 0), (r.LeavesCleared, r.TablesFreed));
        Assert.Equal(Levels, t.TablePages);
        Assert.True(t.TryReadEntry(leafTable, 100, out ulong kept));
        Assert.Equal(0x5000UL, kept);
    }

    private readonly struct TableCollector(List<(ulong Pa, int Level)> tables) : IPageTableVisitor
    {
        public void VisitTable(ulong tablePa, int level, ulong iovaBase) => tables.Add((tablePa, level));

        public void VisitLeaf(in PageTableLeaf leaf)
        {
        }
    }
}
