using System.Runtime.CompilerServices;
using IommuKit.Addressing;
using IommuKit.Memory;

namespace IommuKit.PageTables;

/// <summary>
/// The page-table engine, specialised per format through the static members of <typeparamref name="TFormat"/>.
/// </summary>
/// <remarks>
/// Every walk is a loop or a recursion whose depth is bounded by <c>TFormat.Levels</c> (at most 5), and every
/// entry is read with <see cref="PhysicalMemory.TryReadUInt64"/>: an entry pointing at unbacked memory ends the
/// walk as <see cref="PageWalkStatus.TableUnreadable"/> instead of throwing, so garbage written by a guest is safe.
/// </remarks>
internal sealed class IoPageTable<TFormat> : IoPageTable
    where TFormat : struct, IPageTableFormatSpec
{
    // A range has two ends; each may cut a 1G leaf, needing a 2M table and then a 4K table: 2 × (3 - 1) frames.
    private const int MaxReservedFrames = 2 * (PageTableLayout.MaxLeafLevel - 1);

    private readonly PhysicalMemory _memory;
    private readonly ulong[] _reserve = new ulong[MaxReservedFrames];
    private int _reserved;

    public IoPageTable(FrameAllocator frames, PageSizes leafSizes)
        : base(frames, leafSizes, PageTableLayout.PageBits + (PageTableLayout.LevelBits * TFormat.Levels))
    {
        _memory = frames.Memory;
    }

    public override PageTableFormat Format => TFormat.Format;

    public override int Levels => TFormat.Levels;

    public override int OutputAddressWidth => TFormat.OutputAddressBits;

    public override PageTranslation Translate(ulong iova) => Walk(_memory, RootPa, iova, Counters);

    /// <summary>The hardware walk: root to leaf, effective permissions the AND over the path.</summary>
    internal static PageTranslation Walk(PhysicalMemory memory, ulong rootPa, ulong iova, PageTableCounters? counters)
    {
        int levels = TFormat.Levels;

        // Width = 12 + 9 × levels <= 57, so the shift is in range.
        if ((iova >> (PageTableLayout.PageBits + (PageTableLayout.LevelBits * levels))) != 0)
        {
            return new PageTranslation(PageWalkStatus.BeyondWidth, 0, 0, levels, Permissions.None);
        }

        ulong tablePa = rootPa;
        Permissions allowed = Permissions.ReadWrite;
        for (int level = levels; level >= 1; level--)
        {
            counters?.AddTable();

            // The index is < 512 and tablePa is page aligned, so the entry address stays inside the table page.
            ulong entryPa = tablePa + ((ulong)PageTableLayout.EntryIndex(iova, level) * PageTableLayout.EntryBytes);
            if (!memory.TryReadUInt64(entryPa, out ulong pte))
            {
                return new PageTranslation(PageWalkStatus.TableUnreadable, 0, 0, level, Permissions.None);
            }

            counters?.AddRead();
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out Permissions permissions);
            if (kind == PteKind.Table && level > 1)
            {
                allowed &= permissions;
                tablePa = address;
                continue;
            }

            if (kind == PteKind.Leaf)
            {
                ulong span = PageTableLayout.EntrySpan(level);
                if ((address & (span - 1)) != 0)
                {
                    break; // address bits below the leaf size are reserved
                }

                // address is span aligned, so OR-ing the in-leaf offset is the sum and cannot carry.
                return new PageTranslation(PageWalkStatus.Present, address | (iova & (span - 1)), span, level, allowed & permissions);
            }

            if (kind == PteKind.NotPresent)
            {
                return new PageTranslation(PageWalkStatus.NotPresent, 0, 0, level, Permissions.None);
            }

            return new PageTranslation(PageWalkStatus.Malformed, 0, 0, level, Permissions.None);
        }

        return new PageTranslation(PageWalkStatus.Malformed, 0, 0, 1, Permissions.None);
    }

    public override PageTableStatus TryMap(IovaRange range, ulong pa, Permissions permissions)
    {
        if (!AddressRange.Contains(range))
        {
            return PageTableStatus.BeyondWidth;
        }

        ulong smallest = LeafSizes.Smallest;
        if (!range.IsAligned(smallest) || (pa & (smallest - 1)) != 0)
        {
            return PageTableStatus.Misaligned;
        }

        // pa + size - 1 computed in 128 bits: size <= 2^57 and pa < 2^64 cannot overflow there.
        if ((UInt128)pa + range.Size - 1 >= (UInt128)1 << TFormat.OutputAddressBits)
        {
            return PageTableStatus.PhysicalAddressBeyondWidth;
        }

        if (!TFormat.CanEncode(permissions))
        {
            return PageTableStatus.UnsupportedPermissions;
        }

        if (AnyPresent(RootPa, TFormat.Levels, 0, range.First, range.Last))
        {
            return PageTableStatus.AlreadyMapped;
        }

        foreach (IovaChunk chunk in range.Chunks(LeafSizes, pa))
        {
            if (!TryPlaceLeaf(chunk.Iova, chunk.Pa, PageTableLayout.LevelOfLeafSize(chunk.Size), permissions))
            {
                // The range held nothing before: unmapping all of it restores the table and frees new tables.
                Unmap(range);
                return PageTableStatus.OutOfFrames;
            }
        }

        return PageTableStatus.Ok;
    }

    public override UnmapResult Unmap(IovaRange range)
    {
        if (!range.IsAligned(LeafSizes.Smallest))
        {
            return new UnmapResult(PageTableStatus.Misaligned, 0, 0, 0, 0);
        }

        if (!range.TryIntersect(AddressRange, out IovaRange r))
        {
            return new UnmapResult(PageTableStatus.Ok, 0, 0, 0, 0);
        }

        // Reserve the frames splits may need before changing anything, so the unmap is all or nothing.
        int needed = SplitTablesNeeded(r.First, r) + SplitTablesNeeded(r.Last, r);
        if (!TryReserve(needed))
        {
            return new UnmapResult(PageTableStatus.OutOfFrames, 0, 0, 0, 0);
        }

        var tally = new UnmapTally();
        UnmapIn(RootPa, TFormat.Levels, 0, r.First, r.Last, ref tally);
        ReleaseReserve();
        return new UnmapResult(PageTableStatus.Ok, tally.Bytes, tally.Leaves, tally.Splits, tally.TablesFreed);
    }

    public override void Visit<TVisitor>(IovaRange range, ref TVisitor visitor)
    {
        if (range.TryIntersect(AddressRange, out IovaRange r))
        {
            VisitIn(RootPa, TFormat.Levels, 0, r.First, r.Last, Permissions.ReadWrite, ref visitor);
        }
    }

    private void VisitIn<TVisitor>(ulong tablePa, int level, ulong iovaBase, ulong first, ulong last, Permissions allowed, ref TVisitor visitor)
        where TVisitor : struct, IPageTableVisitor
    {
        visitor.VisitTable(tablePa, level, iovaBase);
        Counters.AddTable();
        int shift = PageTableLayout.Shift(level);
        ulong span = 1UL << shift;

        // iovaBase <= first <= last < iovaBase + 512 × span, so both indices are in 0..511.
        int i0 = (int)((first - iovaBase) >> shift);
        int i1 = (int)((last - iovaBase) >> shift);
        for (int i = i0; i <= i1; i++)
        {
            if (!_memory.TryReadUInt64(tablePa + ((ulong)i * PageTableLayout.EntryBytes), out ulong pte))
            {
                return;
            }

            Counters.AddRead();
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out Permissions permissions);

            // Inside the table's span, which ends at or below 2^57 - 1: no overflow.
            ulong entryFirst = iovaBase + ((ulong)i << shift);
            ulong entryLast = entryFirst + (span - 1);
            ulong f = Math.Max(first, entryFirst);
            ulong l = Math.Min(last, entryLast);
            if (kind == PteKind.Leaf && (address & (span - 1)) == 0)
            {
                visitor.VisitLeaf(new PageTableLeaf(f, address + (f - entryFirst), l - f + 1, span, level, allowed & permissions));
            }
            else if (kind == PteKind.Table && level > 1)
            {
                VisitIn(address, level - 1, entryFirst, f, l, allowed & permissions, ref visitor);
            }
        }
    }

    /// <summary>True when any leaf (or malformed entry) lies in [first, last]; stops at the first one.</summary>
    private bool AnyPresent(ulong tablePa, int level, ulong iovaBase, ulong first, ulong last)
    {
        Counters.AddTable();
        int shift = PageTableLayout.Shift(level);
        ulong span = 1UL << shift;
        int i0 = (int)((first - iovaBase) >> shift);
        int i1 = (int)((last - iovaBase) >> shift);
        for (int i = i0; i <= i1; i++)
        {
            ulong pte = ReadOwn(tablePa, i);
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out _);
            if (kind == PteKind.NotPresent)
            {
                continue;
            }

            if (kind != PteKind.Table || level == 1)
            {
                return true;
            }

            ulong entryFirst = iovaBase + ((ulong)i << shift);
            ulong entryLast = entryFirst + (span - 1);
            if (AnyPresent(address, level - 1, entryFirst, Math.Max(first, entryFirst), Math.Min(last, entryLast)))
            {
                return true;
            }
        }

        return false;
    }

    private bool TryPlaceLeaf(ulong iova, ulong pa, int leafLevel, Permissions permissions)
    {
        ulong tablePa = RootPa;
        for (int level = TFormat.Levels; level > leafLevel; level--)
        {
            int index = PageTableLayout.EntryIndex(iova, level);
            ulong pte = ReadOwn(tablePa, index);
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out _);
            if (kind == PteKind.Table)
            {
                tablePa = address;
                continue;
            }

            if (kind != PteKind.NotPresent)
            {
                // AnyPresent found nothing in the range and empty tables are always freed: unreachable.
                ThrowHelper.ThrowInvalidOperation($"page table invariant broken: entry {index} of table {ThrowHelper.Hex(tablePa)} at L{level} is {ThrowHelper.Hex(pte)}");
            }

            if (!TryAllocateTable(out ulong child))
            {
                return false;
            }

            WriteOwn(tablePa, index, TFormat.MakeTable(child));
            tablePa = child;
        }

        WriteOwn(tablePa, PageTableLayout.EntryIndex(iova, leafLevel), TFormat.MakeLeaf(pa, permissions, leafLevel));
        return true;
    }

    private void UnmapIn(ulong tablePa, int level, ulong iovaBase, ulong first, ulong last, ref UnmapTally tally)
    {
        Counters.AddTable();
        int shift = PageTableLayout.Shift(level);
        ulong span = 1UL << shift;
        int i0 = (int)((first - iovaBase) >> shift);
        int i1 = (int)((last - iovaBase) >> shift);
        for (int i = i0; i <= i1; i++)
        {
            ulong pte = ReadOwn(tablePa, i);
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out Permissions permissions);
            if (kind == PteKind.NotPresent)
            {
                continue;
            }

            ulong entryFirst = iovaBase + ((ulong)i << shift);
            ulong entryLast = entryFirst + (span - 1);
            bool covered = first <= entryFirst && entryLast <= last;
            if (kind != PteKind.Table || level == 1)
            {
                if (covered || kind != PteKind.Leaf || level == 1)
                {
                    // A whole leaf (or a malformed entry) inside the range: clear it.
                    WriteOwn(tablePa, i, 0);
                    if (kind == PteKind.Leaf)
                    {
                        tally.Bytes += span;
                        tally.Leaves++;
                    }

                    continue;
                }

                // Part of a huge leaf: replace it by a table of 512 next-level leaves with the same attributes
                // (arm_lpae_split_blk_unmap), then unmap inside that table.
                ulong child = TakeReserved();
                ulong childSpan = span >> PageTableLayout.LevelBits;
                for (int j = 0; j < PageTableLayout.EntriesPerTable; j++)
                {
                    // address is span aligned and address + span - 1 < 2^52: no overflow.
                    WriteOwn(child, j, TFormat.MakeLeaf(address + ((ulong)j * childSpan), permissions, level - 1));
                }

                WriteOwn(tablePa, i, TFormat.MakeTable(child));
                tally.Splits++;
                address = child;
            }

            UnmapIn(address, level - 1, entryFirst, Math.Max(first, entryFirst), Math.Min(last, entryLast), ref tally);
            if (IsTableEmpty(address))
            {
                WriteOwn(tablePa, i, 0);
                Frames.Free(address);
                TablePages--;
                tally.TablesFreed++;
            }
        }
    }

    /// <summary>Tables a split at the end <paramref name="iova"/> of <paramref name="range"/> may need: leaf level - 1 when a huge leaf straddles it.</summary>
    private int SplitTablesNeeded(ulong iova, IovaRange range)
    {
        PageTranslation t = Translate(iova);
        if (!t.IsPresent || t.Level == 1)
        {
            return 0;
        }

        ulong leafFirst = iova & ~(t.LeafSize - 1);
        ulong leafLast = leafFirst + (t.LeafSize - 1); // leafFirst is LeafSize aligned and below 2^57
        return range.Contains(IovaRange.FromFirstLast(leafFirst, leafLast)) ? 0 : t.Level - 1;
    }

    private bool IsTableEmpty(ulong tablePa)
    {
        for (int i = 0; i < PageTableLayout.EntriesPerTable; i++)
        {
            if (ReadOwn(tablePa, i) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private bool TryAllocateTable(out ulong pa)
    {
        try
        {
            pa = Frames.Allocate();
        }
        catch (InvalidOperationException)
        {
            pa = 0;
            return false;
        }

        TablePages++;
        return true;
    }

    private bool TryReserve(int count)
    {
        while (_reserved < count)
        {
            if (!TryAllocateTable(out ulong pa))
            {
                ReleaseReserve();
                return false;
            }

            _reserve[_reserved++] = pa;
        }

        return true;
    }

    private ulong TakeReserved()
    {
        if (_reserved == 0)
        {
            return ThrowHelper.ThrowInvalidOperation<ulong>("page table split needed more frames than reserved");
        }

        return _reserve[--_reserved];
    }

    private void ReleaseReserve()
    {
        while (_reserved > 0)
        {
            Frames.Free(_reserve[--_reserved]);
            TablePages--;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong ReadOwn(ulong tablePa, int index)
    {
        Counters.AddRead();
        return _memory.ReadUInt64(tablePa + ((ulong)index * PageTableLayout.EntryBytes));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteOwn(ulong tablePa, int index, ulong pte)
    {
        Counters.AddWritten();
        _memory.WriteUInt64(tablePa + ((ulong)index * PageTableLayout.EntryBytes), pte);
    }

    private struct UnmapTally
    {
        public UInt128 Bytes;
        public int Leaves;
        public int Splits;
        public int TablesFreed;
    }
}
