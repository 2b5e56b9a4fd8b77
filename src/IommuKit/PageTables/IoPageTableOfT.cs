using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using IommuKit.Addressing;
using IommuKit.Memory;

namespace IommuKit.PageTables;

/// <summary>
/// The page-table engine, specialised per format through the static members of <typeparamref name="TFormat"/>.
/// </summary>
/// <remarks>
/// Every walk is a loop or a recursion whose depth is bounded by <c>TFormat.Levels</c> (at most 5), and every
/// entry is read from the table page's storage: an entry pointing at unbacked memory ends the walk as
/// <see cref="PageWalkStatus.TableUnreadable"/> instead of throwing, so garbage written by a guest is safe.
/// <para>Speed (issue 6): a table page is fetched once per visit as a span of 512 entries (a subtraction and a shift
/// for frames of our own pool, <see cref="FrameAllocator.PageOf"/>; a radix lookup otherwise) and runs of empty
/// entries are skipped with a vectorised scan; each own table page has a count of its non-zero entries
/// (<c>_present</c>, indexed by frame number) so "is this table now empty" after an unmap is O(1); a map of many
/// leaves keeps the last leaf table it wrote and does not re-walk from the root for the next leaf in it.
/// Counters still count every entry a scan covers, so cost bounds in tests are unchanged.</para>
/// <para>Entries are read as native <c>ulong</c>s over the page bytes: PTEs are little endian, and so is every
/// platform .NET 10 runs on (checked in the constructor).</para>
/// </remarks>
internal sealed class IoPageTable<TFormat> : IoPageTable
    where TFormat : struct, IPageTableFormatSpec
{
    // A range has two ends; each may cut a 1G leaf, needing a 2M table and then a 4K table: 2 × (3 - 1) frames.
    private const int MaxReservedFrames = 2 * (PageTableLayout.MaxLeafLevel - 1);

    private static readonly ulong[] ZeroTable = new ulong[PageTableLayout.EntriesPerTable];

    private readonly PhysicalMemory _memory;
    private readonly FrameAllocator _frames;
    private readonly ulong _poolBase;
    private readonly ulong[] _reserve = new ulong[MaxReservedFrames];
    private int _reserved;

    // Non-zero entries per own table page, indexed by frame number in the pool (the root included).
    private short[] _present = new short[64];

    // The leaf table the last TryPlaceLeaf of the current TryMap wrote into (valid only inside one TryMap).
    private bool _cacheValid;
    private int _cacheLevel;
    private ulong _cacheKey;
    private ulong _cacheTablePa;

    public IoPageTable(FrameAllocator frames, PageSizes leafSizes)
        : base(frames, leafSizes, PageTableLayout.PageBits + (PageTableLayout.LevelBits * TFormat.Levels))
    {
        if (!BitConverter.IsLittleEndian)
        {
            ThrowHelper.ThrowInvalidOperation("IommuKit page tables need a little-endian host");
        }

        _memory = frames.Memory;
        _frames = frames;
        _poolBase = frames.Pool.First;
    }

    public override PageTableFormat Format => TFormat.Format;

    public override int Levels => TFormat.Levels;

    public override int OutputAddressWidth => TFormat.OutputAddressBits;

    public override PageTranslation Translate(ulong iova) => Walk(_memory, RootPa, iova, Counters, _frames);

    /// <summary>The hardware walk: root to leaf, effective permissions the AND over the path.</summary>
    internal static PageTranslation Walk(PhysicalMemory memory, ulong rootPa, ulong iova, PageTableCounters? counters) =>
        Walk(memory, rootPa, iova, counters, null);

    /// <summary>The walk, with table pages of <paramref name="frames"/>' pool found by index rather than by radix lookup.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static PageTranslation Walk(PhysicalMemory memory, ulong rootPa, ulong iova, PageTableCounters? counters, FrameAllocator? frames)
    {
        int levels = TFormat.Levels;

        // Width = 12 + 9 × levels <= 57, so the shift is in range.
        if ((iova >> (PageTableLayout.PageBits + (PageTableLayout.LevelBits * levels))) != 0)
        {
            return new PageTranslation(PageWalkStatus.BeyondWidth, 0, 0, levels, Permissions.None);
        }

        // Counted once at the end (two adds instead of two per level): the counts are the same.
        ulong tablePa = rootPa;
        Permissions allowed = Permissions.ReadWrite;
        for (int level = levels; level >= 1; level--)
        {
            int index = PageTableLayout.EntryIndex(iova, level);
            ulong pte;
            byte[]? page = frames?.PageOf(tablePa);
            if (page is not null)
            {
                // index < 512 and the page holds 512 entries: in bounds.
                pte = Unsafe.Add(ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetArrayDataReference(page)), index);
            }
            else if (!memory.TryReadUInt64(tablePa + ((ulong)index * PageTableLayout.EntryBytes), out pte))
            {
                // tablePa is page aligned and index < 512: the entry address stays inside the table page.
                counters?.AddWalk(levels - level + 1, levels - level);
                return new PageTranslation(PageWalkStatus.TableUnreadable, 0, 0, level, Permissions.None);
            }

            PteKind kind = TFormat.Decode(pte, level, out ulong address, out Permissions permissions);
            if (kind == PteKind.Table && level > 1)
            {
                allowed &= permissions;
                tablePa = address;
                continue;
            }

            counters?.AddWalk(levels - level + 1, levels - level + 1);
            if (kind == PteKind.Leaf)
            {
                ulong span = PageTableLayout.EntrySpan(level);
                if ((address & (span - 1)) != 0)
                {
                    // address bits below the leaf size are reserved
                    return new PageTranslation(PageWalkStatus.Malformed, 0, 0, 1, Permissions.None);
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

        // Unreachable: level 1 entries decode as leaf, not present or malformed, all of which return above.
        counters?.AddWalk(levels, levels);
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

        // The range is inside the width, so last - first < 2^57; pa and that are each checked below 2^52 before the
        // sum, which is then below 2^53: no overflow.
        ulong span = range.Last - range.First;
        if ((pa >> TFormat.OutputAddressBits) != 0 || (span >> TFormat.OutputAddressBits) != 0
            || ((pa + span) >> TFormat.OutputAddressBits) != 0)
        {
            return PageTableStatus.PhysicalAddressBeyondWidth;
        }

        if (!TFormat.CanEncode(permissions))
        {
            return PageTableStatus.UnsupportedPermissions;
        }

        if (TryMapInOneTable(range, pa, permissions, out PageTableStatus fast))
        {
            return fast;
        }

        if (AnyPresent(RootPa, TFormat.Levels, 0, range.First, range.Last))
        {
            return PageTableStatus.AlreadyMapped;
        }

        // The chunks of IovaRange.Chunks, placed a leaf table at a time: once a chunk of size s lands at index idx of
        // a level-L table, every following chunk up to the table's end (or the range's end) has size s too (a bigger
        // one needs alignment to s × 512, which only the next table's index 0 has; iova and pa stay s aligned), so
        // they are written in one loop without re-walking or re-splitting.
        _cacheValid = false;
        ulong iova = range.First;
        ulong curPa = pa;
        while (true)
        {
            // last - iova + 1 <= 2^57 here (range is inside the width): computed in 128 bits anyway.
            UInt128 remaining = (UInt128)(range.Last - iova) + 1;
            ulong size = LeafSizes.LargestFor(iova, curPa, remaining);
            int leafLevel = PageTableLayout.LevelOfLeafSize(size);
            if (!TryPlaceLeaf(iova, curPa, leafLevel, permissions, out ulong tablePa))
            {
                // The range held nothing before: unmapping all of it restores the table and frees new tables.
                _cacheValid = false;
                Unmap(range);
                return PageTableStatus.OutOfFrames;
            }

            int index = PageTableLayout.EntryIndex(iova, leafLevel);
            UInt128 fit = remaining >> BitOperations.TrailingZeroCount(size); // size is a power of two: no division
            int n = (int)UInt128.Min(fit, (UInt128)(PageTableLayout.EntriesPerTable - index));
            if (n > 1)
            {
                FillLeaves(tablePa, index + 1, n - 1, curPa + size, size, leafLevel, permissions);
            }

            // n × size <= remaining, and n <= 512 with size <= 1 GiB: no overflow.
            ulong consumed = (ulong)n * size;
            if (iova + (consumed - 1) == range.Last)
            {
                break;
            }

            iova += consumed;
            curPa += consumed;
        }

        _cacheValid = false;
        return PageTableStatus.Ok;
    }

    /// <summary>
    /// The common case in one walk (a single page, or a batch inside one leaf table): when the whole range is one run
    /// of same-size leaves in one table, walk to that table (creating tables on the way), check the run's slots and
    /// write them. Returns false, having changed nothing, when the range needs the general path: it spans tables,
    /// or the run's slots hold anything non-zero (the general overlap check decides what it is).
    /// </summary>
    /// <remarks>
    /// Same result as the general path: a huge leaf or malformed entry above the run is an overlap; a table created
    /// here is empty, so nothing below it can overlap; a failed table allocation frees the tables created so far.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryMapInOneTable(IovaRange range, ulong pa, Permissions permissions, out PageTableStatus status)
    {
        status = PageTableStatus.Ok;

        // The range is inside the width (< 2^57), so its size fits a ulong and the first chunk's size is exact.
        ulong bytes = range.Last - range.First + 1;
        ulong size = LargestLeaf(range.First, pa, bytes);
        int sizeBits = BitOperations.TrailingZeroCount(size);
        int leafLevel = PageTableLayout.LevelOfLeafSize(size);
        int index = PageTableLayout.EntryIndex(range.First, leafLevel);
        ulong count = bytes >> sizeBits;

        // One run of equal leaves: the range is a whole number of them (then every chunk has this size: a larger one
        // needs the next table's index 0) and ends inside this table.
        if (leafLevel > TFormat.Levels || (count << sizeBits) != bytes || count > (ulong)(PageTableLayout.EntriesPerTable - index))
        {
            return false;
        }

        // The allocator's page index, read again only after a table allocation (which may grow it).
        byte[]?[] pages = _frames.PageTable(out ulong bumped);
        ulong poolBase = _poolBase;
        ulong tablePa = RootPa;
        bool created = false;
        int level = TFormat.Levels;
        byte[]? page;
        for (; level > leafLevel; level--)
        {
            ulong frame = (tablePa - poolBase) >> PageTableLayout.PageBits; // wraps above bumped when below the pool
            page = frame < bumped ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pages), (nint)frame) : null;
            int i = PageTableLayout.EntryIndex(range.First, level);
            ref ulong entry = ref page is not null ? ref Entry(page, i) : ref OwnEntry(tablePa, i);
            ulong pte = entry;
            PteKind kind = TFormat.Decode(pte, level, out ulong address, out _);
            if (kind == PteKind.Table)
            {
                tablePa = address;
                continue;
            }

            if (kind != PteKind.NotPresent)
            {
                // A huge leaf or a malformed entry covers the range's first page. No table was created (a new
                // table is empty, so its entries decode as not present).
                Counters.AddWalk(TFormat.Levels - level + 1, TFormat.Levels - level + 1);
                status = PageTableStatus.AlreadyMapped;
                return true;
            }

            if (!TryAllocateTable(out ulong child))
            {
                Counters.AddWalk(TFormat.Levels - level + 1, TFormat.Levels - level + 1);
                if (created)
                {
                    Unmap(range); // maps nothing: only frees the empty tables created above
                }

                status = PageTableStatus.OutOfFrames;
                return true;
            }

            created = true;
            Counters.AddWritten();
            entry = TFormat.MakeTable(child); // entry still refers into the parent's storage: allocation moves no page
            PresentCount(tablePa) += pte == 0 ? (short)1 : (short)0;
            tablePa = child;
            pages = _frames.PageTable(out bumped);
        }

        Counters.AddWalk(TFormat.Levels - leafLevel + 1, TFormat.Levels - leafLevel);
        // index + count <= 512 (checked above): the run is inside the table page.
        ulong leafFrame = (tablePa - poolBase) >> PageTableLayout.PageBits;
        page = leafFrame < bumped ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pages), (nint)leafFrame) : null;
        Span<ulong> run = MemoryMarshal.CreateSpan(ref page is not null ? ref Entry(page, index) : ref OwnEntry(tablePa, index), (int)count);
        if (!created)
        {
            // The slots of an existing table are checked (counted as read: one vectorised scan, or one read).
            Counters.AddRead(run.Length);
            if (run.Length == 1 ? run[0] != 0 : run.ContainsAnyExcept(0UL))
            {
                return false;
            }
        }

        WriteLeafRun(run, pa, size, permissions, leafLevel);

        Counters.AddWritten(run.Length);
        PresentCount(tablePa) += (short)run.Length;
        return true;
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

        if ((r.First >> PageTableLayout.Shift(2)) == (r.Last >> PageTableLayout.Shift(2)) && TryUnmapInOneLeafTable(r.First, r.Last, out UnmapResult fast))
        {
            return fast;
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

    /// <summary>
    /// The common case in one walk: [first, last] lies inside one level-1 table's span (2 MiB), reached through table
    /// entries only. Clears its leaves in one loop, then frees the tables that became empty on the way back up.
    /// Returns false, having changed nothing, when a huge leaf or malformed entry sits on the path (the general path
    /// splits or clears it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryUnmapInOneLeafTable(ulong first, ulong last, out UnmapResult result)
    {
        // Nothing allocates during the walk, so the allocator's page index is read once (no reloads per level).
        byte[]?[] pages = _frames.PageTable(out ulong bumped);
        ulong poolBase = _poolBase;
        ulong tablePa = RootPa;
        byte[]? page = null;
        int bottom = TFormat.Levels;
        for (; bottom > 1; bottom--)
        {
            // A table outside our frames (only a guest's write can link one): the general path reads it.
            ulong frame = (tablePa - poolBase) >> PageTableLayout.PageBits; // wraps above bumped when below the pool
            page = frame < bumped ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pages), (nint)frame) : null;
            if (page is null)
            {
                result = default;
                return false;
            }

            ulong pte = Entry(page, PageTableLayout.EntryIndex(first, bottom));
            PteKind kind = TFormat.Decode(pte, bottom, out ulong address, out _);
            if (kind == PteKind.NotPresent)
            {
                break;
            }

            if (kind != PteKind.Table)
            {
                result = default;
                return false;
            }

            tablePa = address;
        }

        var tally = new UnmapTally();
        if (bottom == 1)
        {
            // The level-1 table holds [first, last] (same 2 MiB span): entries i0..i1, i0 <= i1 < 512.
            int i0 = PageTableLayout.EntryIndex(first, 1);
            int i1 = PageTableLayout.EntryIndex(last, 1);
            ulong frame = (tablePa - poolBase) >> PageTableLayout.PageBits;
            page = frame < bumped ? Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(pages), (nint)frame) : null;
            if (page is null)
            {
                result = default;
                return false;
            }

            Counters.AddWalk(TFormat.Levels, TFormat.Levels - 1 + (i1 - i0 + 1));
            if (ClearLeafRun(tablePa, MemoryMarshal.CreateSpan(ref Entry(page, i0), i1 - i0 + 1), ref tally) > 0)
            {
                // The common case: the leaf table still holds entries, so no table on the path is empty.
                result = new UnmapResult(PageTableStatus.Ok, tally.Bytes, tally.Leaves, 0, 0);
                return true;
            }
        }
        else
        {
            Counters.AddWalk(TFormat.Levels - bottom + 1, TFormat.Levels - bottom + 1);
        }

        tally.TablesFreed = FreeEmptyTablesOnPath(first, bottom);
        result = new UnmapResult(PageTableStatus.Ok, tally.Bytes, tally.Leaves, tally.Splits, tally.TablesFreed);
        return true;
    }

    /// <summary>
    /// After <see cref="TryUnmapInOneLeafTable"/> cleared entries in the table at level <paramref name="bottom"/> on
    /// the path of <paramref name="iova"/> (all table entries down to it): frees the tables on that path that are now
    /// empty, bottom up, as the general path does after each recursion (only the deepest can have become empty; an
    /// empty one above it is a table a failed map left behind). Walks the path again (not counted: the walk that
    /// found it was), which is cheaper than recording it on every unmap for the one in 512 that empties a table.
    /// Returns the number of tables freed.
    /// </summary>
    private int FreeEmptyTablesOnPath(ulong iova, int bottom)
    {
        var path = default(LevelPath); // path[level]: the table at that level (an inline array: no stackalloc)
        ulong tablePa = RootPa;
        for (int level = TFormat.Levels; level >= bottom; level--)
        {
            path[level] = tablePa;
            if (level > bottom)
            {
                // The first walk went through a table entry here and nothing changed it since.
                TFormat.Decode(OwnEntry(tablePa, PageTableLayout.EntryIndex(iova, level)), level, out tablePa, out _);
            }
        }

        int freed = 0;
        for (int level = bottom + 1; level <= TFormat.Levels && IsTableEmpty(path[level - 1]); level++)
        {
            WriteOwn(path[level], PageTableLayout.EntryIndex(iova, level), 0);
            Frames.FreeZeroed(path[level - 1]); // IsTableEmpty just saw all 512 entries zero
            TablePages--;
            freed++;
        }

        return freed;
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
        if (!TryGetTable(tablePa, out ReadOnlySpan<ulong> entries))
        {
            return;
        }

        Counters.AddRead(i1 - i0 + 1);
        for (int i = i0; i <= i1; i++)
        {
            // Skip the run of empty entries with one vectorised scan.
            int skip = entries[i..(i1 + 1)].IndexOfAnyExcept(0UL);
            if (skip < 0)
            {
                return;
            }

            i += skip;
            ulong pte = entries[i];
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
        Span<ulong> entries = OwnTable(tablePa);
        for (int i = i0; i <= i1; i++)
        {
            // Skip the run of empty entries with one vectorised scan; counted as read, as a sequential scan would.
            int skip = entries[i..(i1 + 1)].IndexOfAnyExcept(0UL);
            if (skip < 0)
            {
                Counters.AddRead(i1 - i + 1);
                return false;
            }

            Counters.AddRead(skip + 1);
            i += skip;
            ulong pte = entries[i];
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

    /// <summary>Writes <paramref name="count"/> leaves of <paramref name="size"/> from entry <paramref name="index"/> of one of our tables.</summary>
    private void FillLeaves(ulong tablePa, int index, int count, ulong pa, ulong size, int leafLevel, Permissions permissions)
    {
        Span<ulong> entries = OwnTable(tablePa).Slice(index, count);
        int added = entries.Count(0UL); // every written leaf is non-zero: the zero slots are the ones that gain an entry
        WriteLeafRun(entries, pa, size, permissions, leafLevel);

        Counters.AddWritten(count);
        PresentCount(tablePa) += (short)added;
    }

    /// <summary>
    /// <see cref="PageSizes.LargestFor"/> for a length known to fit a ulong (ranges inside the width): the largest leaf
    /// size that divides both addresses and is at most <paramref name="bytes"/> (>= the smallest size, so never 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong LargestLeaf(ulong iova, ulong pa, ulong bytes)
    {
        ulong candidates = LeafSizes.Bitmap;
        ulong addressBits = iova | pa;
        if (addressBits != 0)
        {
            ulong alignment = addressBits & (~addressBits + 1);
            candidates &= alignment | (alignment - 1); // sizes <= the lowest set bit; no shift, so no overflow
        }

        ulong top = 1UL << (63 - BitOperations.LeadingZeroCount(bytes)); // bytes >= 1
        candidates &= top | (top - 1);
        return 1UL << (63 - BitOperations.LeadingZeroCount(candidates));
    }

    /// <summary>
    /// Writes leaves for pa, pa + size, pa + 2 × size, ... into <paramref name="run"/>. Both formats keep the output
    /// address in one bit field (bits 12..51 VT-d, 12..47 LPAE) with the attributes outside it, and TryMap checked the
    /// whole physical range below the output width, so the next leaf is the previous one plus size: no carry leaves
    /// the field. One add and one store per entry instead of a full encode.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteLeafRun(Span<ulong> run, ulong pa, ulong size, Permissions permissions, int leafLevel)
    {
        ulong pte = TFormat.MakeLeaf(pa, permissions, leafLevel);
        int j = 0;
        if (Vector256.IsHardwareAccelerated && run.Length >= 2 * Vector256<ulong>.Count)
        {
            // Four leaves per store: lane k holds pte + k × size, and every lane steps by 4 × size. The run is at most
            // 512 entries, so 4 × size and every sum stay inside the checked output range, as in the scalar loop.
            ref ulong first = ref MemoryMarshal.GetReference(run);
            Vector256<ulong> step = Vector256.Create(4 * size);
            Vector256<ulong> leaves = Vector256.Create(pte) + Vector256.Create(0, size, 2 * size, 3 * size);
            for (; j <= run.Length - Vector256<ulong>.Count; j += Vector256<ulong>.Count)
            {
                leaves.StoreUnsafe(ref first, (nuint)j);
                leaves += step;
            }

            pte += (ulong)j * size;
        }

        for (; j < run.Length; j++)
        {
            run[j] = pte;
            pte += size;
        }
    }

    /// <summary>
    /// Clears the leading entries of <paramref name="run"/> (part of a level-1 table) that are leaves, four at a time
    /// while all four are, and returns how many it cleared: all of them for a mapped run (what TryMap wrote). The
    /// caller handles the rest entry by entry. Vector compares over the format's present and leaf bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ClearLeadingLevel1Leaves(Span<ulong> run)
    {
        ulong present = TFormat.Level1PresentBits;
        ulong leaf = TFormat.Level1LeafBits;
        int i = 0;
        if (Vector256.IsHardwareAccelerated && run.Length >= Vector256<ulong>.Count)
        {
            ref ulong first = ref MemoryMarshal.GetReference(run);
            Vector256<ulong> presentBits = Vector256.Create(present);
            Vector256<ulong> leafBits = Vector256.Create(leaf);
            for (; i <= run.Length - Vector256<ulong>.Count; i += Vector256<ulong>.Count)
            {
                Vector256<ulong> v = Vector256.LoadUnsafe(ref first, (nuint)i);
                if (Vector256.EqualsAny(v & presentBits, Vector256<ulong>.Zero) || !Vector256.EqualsAll(v & leafBits, leafBits))
                {
                    return i;
                }

                Vector256<ulong>.Zero.StoreUnsafe(ref first, (nuint)i);
            }
        }

        for (; i < run.Length; i++)
        {
            ulong pte = run[i];
            if ((pte & present) == 0 || (pte & leaf) != leaf)
            {
                return i;
            }

            run[i] = 0;
        }

        return i;
    }

    private bool TryPlaceLeaf(ulong iova, ulong pa, int leafLevel, Permissions permissions, out ulong leafTablePa)
    {
        // The leaf table covers 512 entries of the leaf level: its key is the iova above that span.
        ulong key = iova >> PageTableLayout.Shift(leafLevel + 1);
        if (_cacheValid && _cacheLevel == leafLevel && _cacheKey == key)
        {
            Counters.AddTable();
            WriteOwn(_cacheTablePa, PageTableLayout.EntryIndex(iova, leafLevel), TFormat.MakeLeaf(pa, permissions, leafLevel));
            leafTablePa = _cacheTablePa;
            return true;
        }

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
                leafTablePa = 0;
                return false;
            }

            WriteOwn(tablePa, index, TFormat.MakeTable(child));
            tablePa = child;
        }

        WriteOwn(tablePa, PageTableLayout.EntryIndex(iova, leafLevel), TFormat.MakeLeaf(pa, permissions, leafLevel));
        if (leafLevel < TFormat.Levels)
        {
            _cacheValid = true;
            _cacheLevel = leafLevel;
            _cacheKey = key;
            _cacheTablePa = tablePa;
        }

        leafTablePa = tablePa;
        return true;
    }

    private void UnmapIn(ulong tablePa, int level, ulong iovaBase, ulong first, ulong last, ref UnmapTally tally)
    {
        Counters.AddTable();
        int shift = PageTableLayout.Shift(level);
        ulong span = 1UL << shift;
        int i0 = (int)((first - iovaBase) >> shift);
        int i1 = (int)((last - iovaBase) >> shift);
        Span<ulong> entries = OwnTable(tablePa);
        Counters.AddRead(i1 - i0 + 1);
        if (level == 1)
        {
            ClearLeafRun(tablePa, entries.Slice(i0, i1 - i0 + 1), ref tally);
            return;
        }

        for (int i = i0; i <= i1; i++)
        {
            int skip = entries[i..(i1 + 1)].IndexOfAnyExcept(0UL);
            if (skip < 0)
            {
                return;
            }

            i += skip;
            ulong pte = entries[i];
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
                Frames.FreeZeroed(address); // IsTableEmpty just saw all 512 entries zero
                TablePages--;
                tally.TablesFreed++;
            }
        }
    }

    /// <summary>
    /// Clears every present entry of <paramref name="run"/>, part of the level-1 table at <paramref name="tablePa"/>
    /// (a leaf or a malformed entry; a non-zero entry that is not present is left as it is, like the general path),
    /// with one present-count update.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ClearLeafRun(ulong tablePa, Span<ulong> run, ref UnmapTally tally)
    {
        // The common case, a run of leaves (what TryMap wrote), in one vectorised pass; from the first entry that is
        // not a leaf on, entry by entry: a non-zero entry that is not present stays, a malformed one is cleared.
        int leaves = ClearLeadingLevel1Leaves(run);
        int cleared = leaves;
        for (int i = leaves; i < run.Length; i++)
        {
            ulong pte = run[i];
            if (pte == 0)
            {
                continue;
            }

            PteKind kind = TFormat.Decode(pte, 1, out _, out _);
            if (kind == PteKind.NotPresent)
            {
                continue;
            }

            leaves += kind == PteKind.Leaf ? 1 : 0;
            run[i] = 0;
            cleared++;
        }

        // At most 512 leaves of 4 KiB: no overflow.
        tally.Leaves += leaves;
        tally.Bytes += (ulong)leaves << PageTableLayout.PageBits;
        Counters.AddWritten(cleared);
        ref short present = ref PresentCount(tablePa);
        present -= (short)cleared;
        return present;
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

    /// <summary>
    /// O(1) from the present count. The count only sees the engine's own writes; if something else wrote the pool
    /// through <see cref="PhysicalMemory"/> (a guest scribbling on our tables: <see cref="PhysicalMemory.WatchedWrites"/>
    /// is then non-zero) the count may be off, so from then on a zero (or negative) count is confirmed by one
    /// vectorised scan and resynchronised. A true result means the page is all zeros either way.
    /// </summary>
    private bool IsTableEmpty(ulong tablePa)
    {
        ref short count = ref PresentCount(tablePa);
        if (count > 0)
        {
            return false;
        }

        if (count == 0 && _memory.WatchedWrites == 0)
        {
            return true; // every write to the page was ours and counted: 0 non-zero entries
        }

        Span<ulong> entries = OwnTable(tablePa);
        if (!entries.ContainsAnyExcept(0UL))
        {
            count = 0;
            return true;
        }

        count = (short)(PageTableLayout.EntriesPerTable - entries.Count(0UL));
        return false;
    }

    /// <summary>The 512 entries of one of our own table pages (allocated from <see cref="_frames"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<ulong> OwnTable(ulong tablePa)
    {
        byte[] page = _frames.PageOf(tablePa) ?? OwnTableSlow(tablePa);
        return MemoryMarshal.Cast<byte, ulong>(page.AsSpan());
    }

    /// <summary>
    /// Entry <paramref name="index"/> (masked to 0..511) of one of our own table pages, without reading the page
    /// array's length: a random-order walk then touches only the entry's cache line, as a C walker does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref ulong OwnEntry(ulong tablePa, int index)
    {
        byte[] page = _frames.PageOf(tablePa) ?? OwnTableSlow(tablePa);

        // The page array holds 4096 bytes = 512 entries and index & 511 < 512: in bounds.
        return ref Unsafe.Add(ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetArrayDataReference(page)), index & PageTableLayout.IndexMask);
    }

    /// <summary>Entry <paramref name="index"/> (masked to 0..511) of a table page's storage (4096 bytes: in bounds).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref ulong Entry(byte[] page, int index) =>
        ref Unsafe.Add(ref Unsafe.As<byte, ulong>(ref MemoryMarshal.GetArrayDataReference(page)), index & PageTableLayout.IndexMask);

    private byte[] OwnTableSlow(ulong tablePa)
    {
        if (!_memory.IsBacked(tablePa))
        {
            ThrowHelper.ThrowInvalidOperation($"page table {ThrowHelper.Hex(tablePa)} is not in backed memory");
        }

        return _memory.GetOrCreatePageArray(tablePa);
    }

    /// <summary>Any table page: ours by index, else by radix lookup; an untouched backed page reads as zeros.</summary>
    private bool TryGetTable(ulong tablePa, out ReadOnlySpan<ulong> entries)
    {
        byte[]? page = _frames.PageOf(tablePa) ?? _memory.FindPageArray(tablePa);
        if (page is not null)
        {
            entries = MemoryMarshal.Cast<byte, ulong>(page.AsSpan());
            return true;
        }

        entries = ZeroTable;
        return _memory.IsBacked(tablePa);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref short PresentCount(ulong tablePa)
    {
        // Own tables are frames of the pool: the index is below the allocator's bump count, well inside int.
        int frame = (int)((tablePa - _poolBase) >> PageTableLayout.PageBits);
        short[] present = _present;
        if ((uint)frame < (uint)present.Length)
        {
            return ref present[frame];
        }

        return ref GrowPresent(frame);
    }

    private ref short GrowPresent(int frame)
    {
        Array.Resize(ref _present, Math.Max(_present.Length * 2, frame + 1));
        return ref _present[frame];
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
        return OwnTable(tablePa)[index];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteOwn(ulong tablePa, int index, ulong pte)
    {
        Counters.AddWritten();
        ref ulong entry = ref OwnTable(tablePa)[index];
        ulong old = entry;
        entry = pte;
        if ((old == 0) != (pte == 0))
        {
            PresentCount(tablePa) += (short)(pte != 0 ? 1 : -1);
        }
    }

    /// <summary>One table address per level, 1..5, indexed by level.</summary>
    [InlineArray(6)]
    private struct LevelPath
    {
        private ulong _element0;
    }

    private struct UnmapTally
    {
        public ulong Bytes; // what was mapped inside the width, below 2^57: a ulong holds it
        public int Leaves;
        public int Splits;
        public int TablesFreed;
    }
}
