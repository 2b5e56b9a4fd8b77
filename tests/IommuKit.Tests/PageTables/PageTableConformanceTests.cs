using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.PageTables;

/// <summary>
/// The behaviour every page-table format must share, run once per format by the derived classes at the bottom.
/// </summary>
public abstract class PageTableConformanceTests
{
    protected const ulong K4 = PageSizes.Size4K;
    protected const ulong M2 = PageSizes.Size2M;
    protected const ulong G1 = PageSizes.Size1G;

    // A physical window clear of the frame pool (which starts at 1 TiB).
    protected const ulong PaBase = 0x40_0000_0000; // 256 GiB, 1G aligned

    protected abstract PageTableFormat Format { get; }

    protected abstract int ExpectedWidth { get; }

    protected abstract int ExpectedLevels { get; }

    /// <summary>Whether write-only mappings are representable.</summary>
    protected abstract bool SupportsWriteOnly { get; }

    /// <summary>Checks the raw bits of a table entry (a root entry).</summary>
    protected abstract void AssertRawTableEntry(ulong pte, ulong childPa);

    /// <summary>Checks the raw bits of a leaf entry.</summary>
    protected abstract void AssertRawLeafEntry(ulong pte, ulong pa, int level, Permissions permissions);

    /// <summary>The table entry with writes below it forbidden (VT-d: W clear; ARM: APTable[1] set).</summary>
    protected abstract ulong ReadOnlyTableEntry(ulong tablePte);

    protected IoPageTable NewTable(PageSizes? leafSizes = null, IovaRange? pool = null)
    {
        var memory = new PhysicalMemory();
        return IoPageTable.Create(Format, new FrameAllocator(memory, pool), leafSizes);
    }

    private ulong Top => 1UL << ExpectedWidth;

    [Fact]
    public void New_table_is_one_zeroed_root_page_with_the_format_width()
    {
        IoPageTable t = NewTable();
        Assert.Equal(Format, t.Format);
        Assert.Equal(ExpectedWidth, t.AddressWidth);
        Assert.Equal(ExpectedLevels, t.Levels);
        Assert.Equal(IovaRange.FromFirstLast(0, Top - 1), t.AddressRange);
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);
        for (int i = 0; i < PageTableLayout.EntriesPerTable; i++)
        {
            Assert.True(t.TryReadEntry(t.RootPa, i, out ulong pte));
            Assert.Equal(0UL, pte);
        }
    }

    [Fact]
    public void Map_4K_at_iova_0_translates_every_byte_and_nothing_else()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase + 0x5000, Permissions.ReadWrite);

        PageTranslation first = t.Translate(0);
        Assert.True(first.IsPresent);
        Assert.Equal(PaBase + 0x5000, first.Pa);
        Assert.Equal(K4, first.LeafSize);
        Assert.Equal(1, first.Level);
        Assert.Equal(Permissions.ReadWrite, first.Permissions);
        Assert.Equal(PaBase + 0x5fff, t.Translate(0xfff).Pa);

        // The next page: the walk reaches the level-1 table and stops at its empty entry.
        PageTranslation next = t.Translate(0x1000);
        Assert.Equal(PageWalkStatus.NotPresent, next.Status);
        Assert.Equal(1, next.Level);

        // A page in another root slot stops at the root.
        PageTranslation far = t.Translate(Top >> 1);
        Assert.Equal(PageWalkStatus.NotPresent, far.Status);
        Assert.Equal(ExpectedLevels, far.Level);
        Assert.Equal(ExpectedLevels, t.TablePages);
    }

    [Fact]
    public void Map_the_last_page_below_the_width_and_addresses_beyond_are_not_present()
    {
        IoPageTable t = NewTable();
        ulong lastPage = Top - K4;
        t.Map(IovaRange.FromStartSize(lastPage, K4), PaBase, Permissions.Read);

        Assert.Equal(PaBase + 0xfff, t.Translate(Top - 1).Pa);
        Assert.Equal(Permissions.Read, t.Translate(Top - 1).Permissions);

        PageTranslation beyond = t.Translate(Top);
        Assert.False(beyond.IsPresent);
        Assert.True(beyond.IsBeyondWidth);
        Assert.Equal(PageWalkStatus.BeyondWidth, t.Translate(ulong.MaxValue).Status);
        Assert.Single(t.Leaves(IovaRange.Full));
    }

    [Fact]
    public void Aligned_1G_range_is_one_1G_leaf_at_level_3()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(G1, G1), PaBase, Permissions.ReadWrite);

        List<PageTableLeaf> leaves = t.Leaves(IovaRange.Full);
        PageTableLeaf leaf = Assert.Single(leaves);
        Assert.Equal(G1, leaf.Iova);
        Assert.Equal(G1, leaf.LeafSize);
        Assert.Equal(3, leaf.Level);

        PageTranslation tr = t.Translate(G1 + 0x1234_5678);
        Assert.Equal(3, tr.Level);
        Assert.Equal(PaBase + 0x1234_5678, tr.Pa);
        Assert.Equal(PaBase, tr.LeafPa);

        // Root plus one table per level down to the level-3 table.
        Assert.Equal(ExpectedLevels - 2, t.TablePages);
    }

    [Fact]
    public void Range_across_2M_boundaries_uses_4K_2M_4K_leaves()
    {
        IoPageTable t = NewTable();

        // [2M - 4K, 4M + 4K): one 4K page, one 2M leaf, one 4K page; pa keeps the same offset modulo 2M.
        t.Map(IovaRange.FromFirstLast(M2 - K4, (2 * M2) + K4 - 1), PaBase + M2 - K4, Permissions.ReadWrite);

        List<PageTableLeaf> leaves = t.Leaves(IovaRange.Full);
        Assert.Equal([(M2 - K4, K4, 1), (M2, M2, 2), (2 * M2, K4, 1)], leaves.Select(l => (l.Iova, l.LeafSize, l.Level)));
        Assert.Equal(PaBase + M2, leaves[1].Pa);
        Assert.Equal(PaBase + (2 * M2), t.Translate(2 * M2).Pa);
    }

    [Fact]
    public void Range_across_1G_boundaries_uses_2M_1G_2M_then_4K_leaves()
    {
        IoPageTable t = NewTable();

        // [1G - 2M - 4K, 2G + 2M + 4K): 4K, 2M, 1G, 2M, 4K.
        ulong first = G1 - M2 - K4;
        t.Map(IovaRange.FromFirstLast(first, (2 * G1) + M2 + K4 - 1), PaBase + first, Permissions.ReadWrite);

        Assert.Equal(
            [(first, K4), (G1 - M2, M2), (G1, G1), (2 * G1, M2), ((2 * G1) + M2, K4)],
            t.Leaves(IovaRange.Full).Select(l => (l.Iova, l.LeafSize)));
        Assert.Equal((PaBase + G1, 3), (t.Translate(G1).Pa, t.Translate(G1).Level));
        Assert.Equal(PaBase + (2 * G1) - 1, t.Translate((2 * G1) - 1).Pa);
        Assert.False(t.Translate(first - 1).IsPresent);
        Assert.False(t.Translate((2 * G1) + M2 + K4).IsPresent);
    }

    [Fact]
    public void Pa_alignment_caps_the_leaf_size()
    {
        IoPageTable t = NewTable();

        // iova is 2M aligned, pa only 4K aligned: 512 leaves of 4K.
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase + K4, Permissions.ReadWrite);
        List<PageTableLeaf> leaves = t.Leaves(IovaRange.Full);
        Assert.Equal(512, leaves.Count);
        Assert.All(leaves, l => Assert.Equal(1, l.Level));
        Assert.Equal(PaBase + K4 + M2 - 1, t.Translate((2 * M2) - 1).Pa);
    }

    [Fact]
    public void Leaf_sizes_restrict_the_choice()
    {
        IoPageTable t = NewTable(PageSizes.Only4K);
        t.Map(IovaRange.FromStartSize(0, M2), PaBase, Permissions.ReadWrite);
        Assert.Equal(512, t.Leaves(IovaRange.Full).Count);

        IoPageTable hugeOnly = NewTable(PageSizes.Of(M2, G1));
        Assert.Equal(PageTableStatus.Misaligned, hugeOnly.TryMap(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite));
        Assert.Equal(PageTableStatus.Ok, hugeOnly.TryMap(IovaRange.FromStartSize(0, G1 + M2), PaBase, Permissions.ReadWrite));
        Assert.Equal([G1, M2], hugeOnly.Leaves(IovaRange.Full).Select(l => l.LeafSize));
    }

    [Fact]
    public void Create_rejects_empty_or_unsupported_leaf_sizes()
    {
        var frames = new FrameAllocator(new PhysicalMemory());
        Assert.Throws<ArgumentException>(() => IoPageTable.Create(Format, frames, new PageSizes(0)));
        Assert.Throws<ArgumentException>(() => IoPageTable.Create(Format, frames, PageSizes.Of(K4, PageSizes.Size512G)));
        Assert.Throws<ArgumentException>(() => IoPageTable.Create(Format, frames, PageSizes.Of(0x10000)));
    }

    [Theory]
    [InlineData(0x800UL, 0x1000UL, 0x0UL)]   // iova not 4K aligned
    [InlineData(0x0UL, 0x800UL, 0x0UL)]      // size not a page multiple
    [InlineData(0x0UL, 0x1000UL, 0x800UL)]   // pa not 4K aligned
    public void Unaligned_map_is_rejected(ulong iova, ulong size, ulong paOffset)
    {
        IoPageTable t = NewTable();
        Assert.Equal(PageTableStatus.Misaligned, t.TryMap(IovaRange.FromStartSize(iova, size), PaBase + paOffset, Permissions.ReadWrite));
        Assert.Throws<ArgumentException>(() => t.Map(IovaRange.FromStartSize(iova, size), PaBase + paOffset, Permissions.ReadWrite));
        Assert.Equal(1, t.TablePages);
        Assert.Empty(t.Leaves(IovaRange.Full));
    }

    [Fact]
    public void Overlapping_map_is_rejected_and_changes_nothing()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(G1 + 0x5000, K4), PaBase + G1, Permissions.Read);
        List<PageTableLeaf> before = t.Leaves(IovaRange.Full);
        int pagesBefore = t.TablePages;
        int framesBefore = t.Frames.AllocatedFrames;

        // Overlaps the 2M leaf by its last page only.
        Assert.Equal(PageTableStatus.AlreadyMapped, t.TryMap(IovaRange.FromStartSize(0, M2 + K4), PaBase + G1 + G1, Permissions.ReadWrite));

        // A 1G range over a single 4K page deep inside it.
        Assert.Equal(PageTableStatus.AlreadyMapped, t.TryMap(IovaRange.FromStartSize(G1, G1), PaBase + G1, Permissions.ReadWrite));

        // Exactly the same range again.
        Assert.Equal(PageTableStatus.AlreadyMapped, t.TryMap(IovaRange.FromStartSize(M2, M2), PaBase, Permissions.ReadWrite));
        InvalidOperationException ex = Assert.Throws<InvalidOperationException>(() => t.Map(IovaRange.FromStartSize(M2, K4), PaBase, Permissions.ReadWrite));
        Assert.Contains("0x200000", ex.Message, StringComparison.Ordinal);

        Assert.Equal(before, t.Leaves(IovaRange.Full));
        Assert.Equal(pagesBefore, t.TablePages);
        Assert.Equal(framesBefore, t.Frames.AllocatedFrames);
        Assert.False(t.Translate(0).IsPresent);
    }

    [Fact]
    public void Range_beyond_the_width_is_rejected_naming_the_width()
    {
        IoPageTable t = NewTable();
        IovaRange straddling = IovaRange.FromStartSize(Top - K4, 2 * K4);
        Assert.Equal(PageTableStatus.BeyondWidth, t.TryMap(straddling, PaBase, Permissions.ReadWrite));
        Assert.Equal(PageTableStatus.BeyondWidth, t.TryMap(IovaRange.FromStartSize(ulong.MaxValue - K4 + 1, K4), PaBase, Permissions.ReadWrite));
        Assert.Equal(PageTableStatus.BeyondWidth, t.TryMap(IovaRange.Full, 0, Permissions.ReadWrite));

        ArgumentOutOfRangeException ex = Assert.Throws<ArgumentOutOfRangeException>(() => t.Map(straddling, PaBase, Permissions.ReadWrite));
        Assert.Contains($"beyond the {ExpectedWidth}-bit address width", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, t.TablePages);
    }

    [Fact]
    public void Pa_beyond_the_output_width_is_rejected()
    {
        IoPageTable t = NewTable();
        ulong outputTop = 1UL << t.OutputAddressWidth;
        Assert.Equal(PageTableStatus.PhysicalAddressBeyondWidth, t.TryMap(IovaRange.FromStartSize(0, 2 * K4), outputTop - K4, Permissions.ReadWrite));
        Assert.Equal(PageTableStatus.Ok, t.TryMap(IovaRange.FromStartSize(0, K4), outputTop - K4, Permissions.ReadWrite));
        Assert.Equal(outputTop - 1, t.Translate(0xfff).Pa);
    }

    [Fact]
    public void Permissions_round_trip_or_are_rejected()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.Read);
        t.Map(IovaRange.FromStartSize(K4, K4), PaBase, Permissions.ReadWrite);
        Assert.Equal(Permissions.Read, t.Translate(0).Permissions);
        Assert.Equal(Permissions.ReadWrite, t.Translate(K4).Permissions);

        Assert.Equal(PageTableStatus.UnsupportedPermissions, t.TryMap(IovaRange.FromStartSize(2 * K4, K4), PaBase, Permissions.None));
        Assert.Equal(PageTableStatus.UnsupportedPermissions, t.TryMap(IovaRange.FromStartSize(2 * K4, K4), PaBase, (Permissions)4));

        PageTableStatus writeOnly = t.TryMap(IovaRange.FromStartSize(2 * K4, K4), PaBase, Permissions.Write);
        if (SupportsWriteOnly)
        {
            Assert.Equal(PageTableStatus.Ok, writeOnly);
            Assert.Equal(Permissions.Write, t.Translate(2 * K4).Permissions);
        }
        else
        {
            Assert.Equal(PageTableStatus.UnsupportedPermissions, writeOnly);
            Assert.False(t.Translate(2 * K4).IsPresent);
        }
    }

    [Fact]
    public void Effective_permissions_are_the_and_over_the_walk()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);
        Assert.True(t.TryReadEntry(t.RootPa, 0, out ulong rootEntry));
        t.Memory.WriteUInt64(t.RootPa, ReadOnlyTableEntry(rootEntry));

        PageTranslation tr = t.Translate(0);
        Assert.True(tr.IsPresent);
        Assert.Equal(Permissions.Read, tr.Permissions);
        Assert.Equal(Permissions.Read, Assert.Single(t.Leaves(IovaRange.Full)).Permissions);
    }

    [Fact]
    public void Partial_unmap_of_a_2M_leaf_splits_it_into_4K_leaves_keeping_pa()
    {
        // Historical io-pgtable-arm arm_lpae_split_blk_unmap: the block becomes a table of next-level leaves.
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase + M2, Permissions.Read);
        int pages = t.TablePages;

        UnmapResult r = t.Unmap(IovaRange.FromStartSize(M2 + K4, K4));
        Assert.Equal(PageTableStatus.Ok, r.Status);
        Assert.Equal((UInt128)K4, r.BytesUnmapped);
        Assert.Equal(1, r.LeavesCleared);
        Assert.Equal(1, r.HugeLeavesSplit);
        Assert.Equal(pages + 1, t.TablePages);

        PageTranslation below = t.Translate(M2);
        Assert.Equal(PaBase + M2, below.Pa);
        Assert.Equal(1, below.Level);
        Assert.Equal(Permissions.Read, below.Permissions);
        Assert.Equal(PageWalkStatus.NotPresent, t.Translate(M2 + K4).Status);
        Assert.Equal(PaBase + M2 + (2 * K4), t.Translate(M2 + (2 * K4)).Pa);
        Assert.Equal(PaBase + M2 + M2 - 1, t.Translate((2 * M2) - 1).Pa);
        Assert.Equal(511, t.Leaves(IovaRange.Full).Count);
    }

    [Fact]
    public void Partial_unmap_of_a_1G_leaf_splits_down_to_the_range_granularity()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(G1, G1), PaBase, Permissions.ReadWrite);

        // One 4K page in the middle: 1G -> 512 x 2M, then the 2M around the hole -> 512 x 4K.
        ulong hole = G1 + (5 * M2) + (3 * K4);
        UnmapResult r = t.Unmap(IovaRange.FromStartSize(hole, K4));
        Assert.Equal((UInt128)K4, r.BytesUnmapped);
        Assert.Equal(2, r.HugeLeavesSplit);

        Assert.Equal(PageWalkStatus.NotPresent, t.Translate(hole).Status);
        PageTranslation left = t.Translate(hole - K4);
        Assert.Equal((PaBase + (5 * M2) + (2 * K4), 1), (left.Pa, left.Level));
        PageTranslation right = t.Translate(hole + K4);
        Assert.Equal((PaBase + (5 * M2) + (4 * K4), 1), (right.Pa, right.Level));
        PageTranslation far = t.Translate(G1 + G1 - 1);
        Assert.Equal((PaBase + G1 - 1, 2, M2), (far.Pa, far.Level, far.LeafSize));
        Assert.Equal((PaBase, 2), (t.Translate(G1).Pa, t.Translate(G1).Level));
        Assert.Equal(511 + 511, t.Leaves(IovaRange.Full).Count);

        // A 2M-aligned part of another 1G leaf needs one split only.
        t.Map(IovaRange.FromStartSize(2 * G1, G1), PaBase + G1, Permissions.ReadWrite);
        UnmapResult r2 = t.Unmap(IovaRange.FromStartSize(2 * G1, M2));
        Assert.Equal(((UInt128)M2, 1, 1), (r2.BytesUnmapped, r2.LeavesCleared, r2.HugeLeavesSplit));
        Assert.Equal(PaBase + G1 + M2, t.Translate((2 * G1) + M2).Pa);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(7)]
    [InlineData(9)]
    [InlineData(255)]
    [InlineData(511)]
    public void Runs_of_any_length_in_one_leaf_table_map_and_unmap_page_by_page(int pages)
    {
        // Runs written and cleared four entries at a time plus a tail: every length must land exactly.
        IoPageTable t = NewTable(PageSizes.Only4K);
        IovaRange run = IovaRange.FromStartSize(M2 + K4, (ulong)pages * K4); // from index 1 of the leaf table
        t.Map(run, PaBase, Permissions.ReadWrite);
        Assert.False(t.Translate(M2).IsPresent);
        for (ulong i = 0; i < (ulong)pages; i++)
        {
            Assert.Equal(PaBase + (i * K4), t.Translate(M2 + K4 + (i * K4)).Pa);
        }

        Assert.False(t.Translate(run.Last + 1).IsPresent);
        UnmapResult r = t.Unmap(run);
        Assert.Equal((pages, (UInt128)pages * K4, 1), (r.LeavesCleared, r.BytesUnmapped, r.TablesFreed - ExpectedLevels + 2));
        Assert.Equal(1, t.TablePages);
    }

    [Fact]
    public void Batch_unmap_clears_leaves_and_malformed_entries_and_keeps_non_present_ones()
    {
        // A guest wrote into a mapped run: a non-zero entry that is not present (R/W clear on VT-d, valid clear on
        // ARM) must stay, as the entry-by-entry rule leaves it; 0x2001 is a read-only leaf on VT-d and a reserved
        // (malformed) descriptor at ARM level 3: cleared either way, counted as a leaf only on VT-d.
        IoPageTable t = NewTable(PageSizes.Only4K);
        IovaRange batch = IovaRange.FromStartSize(M2, 256 * K4);
        t.Map(batch, PaBase, Permissions.ReadWrite);
        ulong leafTable = LeafTableOf(t, M2);
        t.Memory.WriteUInt64(leafTable + (10 * 8), 0x1000);
        t.Memory.WriteUInt64(leafTable + (20 * 8), 0x2001);
        t.Memory.WriteUInt64(leafTable + (300 * 8), 0x3000); // outside the run

        UnmapResult r = t.Unmap(batch);
        int leaves = Format == PageTableFormat.ArmLpae48 ? 254 : 255;
        Assert.Equal((leaves, (UInt128)(ulong)leaves * K4, 0), (r.LeavesCleared, r.BytesUnmapped, r.TablesFreed));
        Assert.Equal(0x1000UL, t.Memory.ReadUInt64(leafTable + (10 * 8)));
        Assert.Equal(0UL, t.Memory.ReadUInt64(leafTable + (20 * 8)));
        Assert.Equal(0x3000UL, t.Memory.ReadUInt64(leafTable + (300 * 8)));
        Assert.Equal(0UL, t.Memory.ReadUInt64(leafTable));
        Assert.Equal(0UL, t.Memory.ReadUInt64(leafTable + (255 * 8)));
        Assert.Empty(t.Leaves(IovaRange.Full));
    }

    // The level-1 table holding iova's entry, followed from the root through table entries (bits 12..47 hold the
    // next table in both formats for pool addresses).
    private static ulong LeafTableOf(IoPageTable t, ulong iova)
    {
        ulong table = t.RootPa;
        for (int level = t.Levels; level > 1; level--)
        {
            Assert.True(t.TryReadEntry(table, PageTableLayout.EntryIndex(iova, level), out ulong pte));
            table = pte & 0x0000_ffff_ffff_f000;
        }

        return table;
    }

    [Fact]
    public void Unmap_of_unmapped_space_is_0_bytes_and_allocates_nothing()
    {
        IoPageTable t = NewTable();
        UnmapResult r = t.Unmap(IovaRange.Full);
        Assert.Equal(new UnmapResult(), r with { });
        Assert.Equal(PageTableStatus.Ok, r.Status);
        Assert.Equal(UInt128.Zero, r.BytesUnmapped);

        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);
        Assert.Equal(UInt128.Zero, t.Unmap(IovaRange.FromStartSize(K4, M2)).BytesUnmapped);
        Assert.Equal(UInt128.Zero, t.Unmap(IovaRange.FromStartSize(ulong.MaxValue - K4 + 1, K4)).BytesUnmapped);
        Assert.Equal(ExpectedLevels, t.TablePages);
        Assert.Equal(PageTableStatus.Misaligned, t.Unmap(IovaRange.FromStartSize(0x800, K4)).Status);
        Assert.True(t.Translate(0).IsPresent);
    }

    [Fact]
    public void Unmapping_everything_frees_every_table_but_the_root()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(G1, G1), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(Top - K4, K4), PaBase, Permissions.ReadWrite);
        Assert.True(t.TablePages > 1);

        // Piece by piece, in exact leaves: tables go as soon as they empty.
        Assert.Equal((UInt128)K4, t.Unmap(IovaRange.FromStartSize(0, K4)).BytesUnmapped);
        Assert.Equal((UInt128)M2, t.Unmap(IovaRange.FromStartSize(M2, M2)).BytesUnmapped);
        Assert.Equal((UInt128)G1, t.Unmap(IovaRange.FromStartSize(G1, G1)).BytesUnmapped);
        UnmapResult last = t.Unmap(IovaRange.FromStartSize(Top - K4, K4));
        Assert.Equal(ExpectedLevels - 1, last.TablesFreed);
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);

        // And all at once with IovaRange.Full.
        t.Map(IovaRange.FromStartSize(0, G1 + K4), PaBase, Permissions.ReadWrite);
        t.Unmap(IovaRange.FromStartSize(K4, K4)); // forces a split first
        UnmapResult all = t.Unmap(IovaRange.Full);
        Assert.Equal((UInt128)(G1 + K4 - K4), all.BytesUnmapped);
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);
        Assert.Empty(t.Leaves(IovaRange.Full));
    }

    [Fact]
    public void Visit_is_ascending_and_clips_leaves_to_the_range()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(G1, G1), PaBase + G1, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase + M2, Permissions.Read);
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);

        Assert.Equal([0UL, M2, G1], t.Leaves(IovaRange.Full).Select(l => l.Iova));

        // From the middle of the 2M leaf to the first 4K of the 1G leaf.
        List<PageTableLeaf> clipped = t.Leaves(IovaRange.FromFirstLast(M2 + 0x3000, G1 + 0xfff));
        Assert.Equal(2, clipped.Count);
        Assert.Equal(new PageTableLeaf(M2 + 0x3000, PaBase + M2 + 0x3000, M2 - 0x3000, M2, 2, Permissions.Read), clipped[0]);
        Assert.Equal(new PageTableLeaf(G1, PaBase + G1, 0x1000, G1, 3, Permissions.ReadWrite), clipped[1]);

        // Beyond the width there is nothing to visit and nothing is read.
        t.Counters.Reset();
        Assert.Empty(t.Leaves(IovaRange.FromFirstLast(Top, ulong.MaxValue)));
        Assert.Equal(0, t.Counters.EntriesRead);
    }

    [Fact]
    public void Visit_of_an_empty_table_reads_only_the_root_page()
    {
        IoPageTable t = NewTable();
        t.Counters.Reset();
        Assert.Empty(t.Leaves(IovaRange.Full));
        Assert.Equal(512, t.Counters.EntriesRead);
        Assert.Equal(1, t.Counters.TablePagesTouched);
    }

    [Fact]
    public void Visit_cost_grows_with_what_is_mapped_not_with_the_range()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(Top - K4, K4), PaBase, Permissions.ReadWrite);
        t.Counters.Reset();
        Assert.Single(t.Leaves(IovaRange.Full));
        Assert.Equal(512 * ExpectedLevels, t.Counters.EntriesRead);
        Assert.Equal(ExpectedLevels, t.Counters.TablePagesTouched);

        // P mappings, each in its own root slot: 512 for the root + P × (levels - 1) × 512, exactly.
        IoPageTable s = NewTable();
        const int P = 7;
        ulong rootSlot = PageTableLayout.EntrySpan(ExpectedLevels);
        for (int p = 0; p < P; p++)
        {
            s.Map(IovaRange.FromStartSize(((ulong)p * 37 % 512 * rootSlot) + ((ulong)p * K4), K4), PaBase, Permissions.Read);
        }

        s.Counters.Reset();
        Assert.Equal(P, s.Leaves(IovaRange.Full).Count);
        Assert.Equal(512 + (P * (ExpectedLevels - 1) * 512), s.Counters.EntriesRead);
        Assert.True(s.Counters.EntriesRead <= P * ExpectedLevels * 512);

        // Visiting a 4K window reads one entry per level.
        s.Counters.Reset();
        Assert.Single(s.Leaves(IovaRange.FromStartSize(0, K4)));
        Assert.Equal(ExpectedLevels, s.Counters.EntriesRead);
    }

    [Fact]
    public void Translate_reads_one_entry_per_level_and_allocates_nothing()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0x1234_5000, K4), PaBase, Permissions.ReadWrite);
        t.Translate(0x1234_5000); // warm up
        t.Counters.Reset();
        long before = GC.GetAllocatedBytesForCurrentThread();
        PageTranslation tr = default;
        for (int i = 0; i < 100; i++)
        {
            tr = t.Translate(0x1234_5000 + (ulong)i);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(tr.IsPresent);
        Assert.Equal(100 * ExpectedLevels, t.Counters.EntriesRead);
        Assert.Equal(0, allocated);
        Assert.Equal(0, t.Counters.EntriesWritten);
    }

    [Fact]
    public void Visit_with_a_struct_visitor_allocates_nothing()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(M2, M2), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(Top - K4, K4), PaBase, Permissions.ReadWrite);
        var warm = new CountingVisitor();
        t.Visit(IovaRange.Full, ref warm);

        var visitor = new CountingVisitor();
        long before = GC.GetAllocatedBytesForCurrentThread();
        t.Visit(IovaRange.Full, ref visitor);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(3, visitor.Leaves);
        Assert.Equal((UInt128)(K4 + M2 + K4), visitor.Bytes);

        // The root, one chain of levels - 1 tables down to the 4K page at 0 (the 2M leaf sits in that chain's
        // level-2 table), and another chain down to the top page.
        Assert.Equal(1 + ((ExpectedLevels - 1) * 2), visitor.Tables);
    }

    private struct CountingVisitor : IPageTableVisitor
    {
        public int Leaves;
        public int Tables;
        public UInt128 Bytes;

        public void VisitTable(ulong tablePa, int level, ulong iovaBase) => Tables++;

        public void VisitLeaf(in PageTableLeaf leaf)
        {
            Leaves++;
            Bytes += leaf.Size;
        }
    }

    [Fact]
    public void Raw_entries_carry_the_format_bits()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, G1), PaBase, Permissions.ReadWrite);
        t.Map(IovaRange.FromStartSize(G1, M2), PaBase + G1, Permissions.Read);
        t.Map(IovaRange.FromStartSize(G1 + M2, K4), PaBase + K4, Permissions.ReadWrite);

        // Root entry 0 -> ... -> the level-3 table holding the 1G leaf at index 0.
        ulong tablePa = t.RootPa;
        for (int level = ExpectedLevels; level > 3; level--)
        {
            Assert.True(t.TryReadEntry(tablePa, 0, out ulong tablePte));
            ulong child = tablePte & 0x000f_ffff_ffff_f000;
            AssertRawTableEntry(tablePte, child);
            Assert.True(t.Frames.IsAllocated(child));
            tablePa = child;
        }

        Assert.True(t.TryReadEntry(tablePa, 0, out ulong gigPte));
        AssertRawLeafEntry(gigPte, PaBase, 3, Permissions.ReadWrite);

        Assert.True(t.TryReadEntry(tablePa, 1, out ulong l2TablePte));
        ulong l2 = l2TablePte & 0x000f_ffff_ffff_f000;
        AssertRawTableEntry(l2TablePte, l2);
        Assert.True(t.TryReadEntry(l2, 0, out ulong twoMegPte));
        AssertRawLeafEntry(twoMegPte, PaBase + G1, 2, Permissions.Read);

        Assert.True(t.TryReadEntry(l2, 1, out ulong l1TablePte));
        ulong l1 = l1TablePte & 0x000f_ffff_ffff_f000;
        Assert.True(t.TryReadEntry(l1, 0, out ulong pagePte));
        AssertRawLeafEntry(pagePte, PaBase + K4, 1, Permissions.ReadWrite);
    }

    [Fact]
    public void Garbage_entries_end_the_walk_as_not_present_without_throwing()
    {
        IoPageTable t = NewTable();
        t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite);
        Assert.True(t.TryReadEntry(t.RootPa, 0, out ulong good));

        // Root entry 1 points at unbacked memory; root entry 2 points back at the root itself.
        ulong slot = PageTableLayout.EntrySpan(ExpectedLevels);
        ulong unbacked = 0x7_0000_0000_0000 & 0x000f_ffff_ffff_f000;
        t.Memory.WriteUInt64(t.RootPa + 8, (good & ~0x000f_ffff_ffff_f000UL) | (unbacked & 0x0000_ffff_ffff_f000));
        t.Memory.WriteUInt64(t.RootPa + 16, (good & ~0x000f_ffff_ffff_f000UL) | t.RootPa);
        t.Memory.WriteUInt64(t.RootPa + 24, ulong.MaxValue);

        Assert.Equal(PageWalkStatus.TableUnreadable, t.Translate(slot).Status);
        Assert.Equal(ExpectedLevels - 1, t.Translate(slot).Level);
        // A table pointing at itself is a recursive mapping, legal to the hardware: the walk still ends after
        // Levels reads and reaches the page-table page that the root's entry 0 chain leads to.
        t.Counters.Reset();
        _ = t.Translate(2 * slot);
        Assert.True(t.Counters.EntriesRead <= ExpectedLevels);

        // All ones: a huge bit at the root level (VT-d) or a table at unbacked 2^48 - 4K (ARM).
        PageTranslation allOnes = t.Translate(3 * slot);
        Assert.False(allOnes.IsPresent);
        Assert.True(allOnes.Status is PageWalkStatus.Malformed or PageWalkStatus.TableUnreadable);
        Assert.True(t.Translate(0).IsPresent);
        Assert.Equal(t.Translate(0), IoPageTable.TranslateAt(Format, t.Memory, t.RootPa, 0));
        Assert.Equal(PageWalkStatus.TableUnreadable, IoPageTable.TranslateAt(Format, t.Memory, 0x10, 0).Status);

        // Visit terminates (depth is bounded by the level count) and does not throw.
        _ = t.Leaves(IovaRange.Full);
    }

    [Fact]
    public void Map_is_all_or_nothing_when_frames_run_out()
    {
        // 3 frames: the root and two more; a 4K leaf needs levels - 1 new tables.
        IoPageTable t = NewTable(pool: IovaRange.FromStartSize(0x100_0000_0000, 3 * K4));
        Assert.Equal(PageTableStatus.OutOfFrames, t.TryMap(IovaRange.FromStartSize(0, 2 * K4), PaBase, Permissions.ReadWrite));
        Assert.Equal(1, t.TablePages);
        Assert.Equal(1, t.Frames.AllocatedFrames);
        Assert.Equal(0UL, t.Memory.ReadUInt64(t.RootPa));
        Assert.Throws<InvalidOperationException>(() => t.Map(IovaRange.FromStartSize(0, K4), PaBase, Permissions.ReadWrite));
    }

    [Fact]
    public void Unmap_is_all_or_nothing_when_a_split_finds_no_frame()
    {
        // Exactly enough frames for a 2M leaf (root + tables down to level 2), none for a split.
        int frames = ExpectedLevels - 1;
        IoPageTable t = NewTable(pool: IovaRange.FromStartSize(0x100_0000_0000, (ulong)frames * K4));
        t.Map(IovaRange.FromStartSize(0, M2), PaBase, Permissions.ReadWrite);
        Assert.Equal(frames, t.TablePages);

        UnmapResult r = t.Unmap(IovaRange.FromStartSize(0, K4));
        Assert.Equal(PageTableStatus.OutOfFrames, r.Status);
        Assert.Equal(UInt128.Zero, r.BytesUnmapped);
        Assert.Equal(2, t.Translate(0).Level);
        Assert.Equal(frames, t.TablePages);
    }
}

public sealed class X86SecondLevel4LevelConformanceTests : PageTableConformanceTests
{
    protected override PageTableFormat Format => PageTableFormat.X86SecondLevel4Level;

    protected override int ExpectedWidth => 48;

    protected override int ExpectedLevels => 4;

    protected override bool SupportsWriteOnly => true;

    protected override ulong ReadOnlyTableEntry(ulong tablePte) => tablePte & ~X86SecondLevelPte.WriteBit;

    protected override void AssertRawTableEntry(ulong pte, ulong childPa) => X86Raw.AssertTable(pte, childPa);

    protected override void AssertRawLeafEntry(ulong pte, ulong pa, int level, Permissions permissions) =>
        X86Raw.AssertLeaf(pte, pa, level, permissions);
}

public sealed class X86SecondLevel5LevelConformanceTests : PageTableConformanceTests
{
    protected override PageTableFormat Format => PageTableFormat.X86SecondLevel5Level;

    protected override int ExpectedWidth => 57;

    protected override int ExpectedLevels => 5;

    protected override bool SupportsWriteOnly => true;

    protected override ulong ReadOnlyTableEntry(ulong tablePte) => tablePte & ~X86SecondLevelPte.WriteBit;

    protected override void AssertRawTableEntry(ulong pte, ulong childPa) => X86Raw.AssertTable(pte, childPa);

    protected override void AssertRawLeafEntry(ulong pte, ulong pa, int level, Permissions permissions) =>
        X86Raw.AssertLeaf(pte, pa, level, permissions);
}

public sealed class ArmLpae48ConformanceTests : PageTableConformanceTests
{
    protected override PageTableFormat Format => PageTableFormat.ArmLpae48;

    protected override int ExpectedWidth => 48;

    protected override int ExpectedLevels => 4;

    /// <summary>Stage-1 AP always grants read: write-only is refused (Linux silently maps it read-write).</summary>
    protected override bool SupportsWriteOnly => false;

    protected override ulong ReadOnlyTableEntry(ulong tablePte) => tablePte | ArmLpaePte.ApTableReadOnlyBit;

    protected override void AssertRawTableEntry(ulong pte, ulong childPa)
    {
        Assert.Equal(0b11UL, pte & 0b11);                  // table descriptor
        Assert.Equal(childPa, pte & 0x0000_ffff_ffff_f000); // bits 12..47
        Assert.Equal(0UL, pte & ~0x0000_ffff_ffff_f003UL);  // no APTable/XNTable/NSTable bits
    }

    protected override void AssertRawLeafEntry(ulong pte, ulong pa, int level, Permissions permissions)
    {
        Assert.Equal(level == 1 ? 0b11UL : 0b01UL, pte & 0b11); // page at ARM level 3, block at levels 1-2
        Assert.Equal(1UL << 10, pte & (1UL << 10));            // AF
        Assert.Equal(1UL << 6, pte & (1UL << 6));              // AP[1]
        Assert.Equal(permissions == Permissions.Read ? 1UL << 7 : 0, pte & (1UL << 7)); // AP[2] read-only
        Assert.Equal(3UL << 8, pte & (3UL << 8));              // inner shareable
        Assert.Equal(pa, pte & 0x0000_ffff_ffff_f000);
    }
}

internal static class X86Raw
{
    public static void AssertTable(ulong pte, ulong childPa)
    {
        Assert.Equal(0b11UL, pte & 0b11);          // R and W on non-leaf entries
        Assert.Equal(0UL, pte & (1UL << 7));        // PS clear
        Assert.Equal(childPa, pte & 0x000f_ffff_ffff_f000);
        Assert.Equal(childPa | 0b11, pte);
    }

    public static void AssertLeaf(ulong pte, ulong pa, int level, Permissions permissions)
    {
        Assert.Equal((ulong)permissions, pte & 0b11);                         // bit 0 R, bit 1 W
        Assert.Equal(level > 1 ? 1UL << 7 : 0, pte & (1UL << 7));              // PS on 2M / 1G leaves
        Assert.Equal(pa, pte & 0x000f_ffff_ffff_f000);                         // bits 12..51
        Assert.Equal(pa | (ulong)permissions | (level > 1 ? 1UL << 7 : 0), pte); // nothing else
    }
}
