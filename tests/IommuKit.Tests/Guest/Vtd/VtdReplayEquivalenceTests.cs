using CsCheck;
using IommuKit.Addressing;
using IommuKit.Guest.Vtd;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using static IommuKit.Tests.Guest.Vtd.VtdFixture;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>
/// The page walk reads each guest table page once as a span and skips runs of zero entries, and the replay refills
/// the IOVA tree by appending: these tests pin that the results are exactly those of the entry-by-entry walk of
/// reference §3.4 (QEMU's <c>vtd_page_walk_level</c> + <c>vtd_page_walk_one</c>), which a plain reference walker here
/// reproduces word by word: same events in the same order, same IOVA tree, same PTE reads and malformed counts.
/// </summary>
public class VtdReplayEquivalenceTests
{
    private static readonly (ulong Start, ulong End)[] NotifierRanges =
        [(0, ulong.MaxValue), (0, 0xfedf_ffff), (0xfef0_0000, ulong.MaxValue), (0x20_1000, 0x7f_ffff_ffff)];

    [Fact]
    public void Sync_and_replay_match_the_entry_by_entry_walk_on_random_guest_tables()
    {
        // ops: (kind, slot, size): 0-3 map, 4-5 unmap without invalidation (the tree keeps what the guest removed),
        // 6 unmap with invalidation, 7 a garbage word in a table page, 8 domain sync, 9 replay.
        Gen.Select(Gen.Int[0, 9], Gen.Int[0, 4095], Gen.Int[0, 3]).Array[1, 60]
            .Select(Gen.Int[0, NotifierRanges.Length - 1], Gen.Bool)
            .Sample((ops, rangeIndex, wide) =>
            {
                var f = new VtdFixture(addressWidth: wide ? 48 : 39);
                (ulong start, ulong end) = NotifierRanges[rangeIndex];
                RecordingNotifier n = f.Register(start: start, end: end);
                bool garbage = false;
                foreach ((int kind, int slot, int size) in ops)
                {
                    // Slots cluster in a few 2 MiB and 1 GiB windows so tables fill and zero runs sit between entries.
                    ulong iova = ((ulong)(slot & 0xf00) << 22) | ((ulong)(slot & 0xff) << 12);
                    ulong bytes = size switch { 0 or 1 => 0x1000, 2 => 0x4000, _ => 0x20_0000 };
                    iova &= ~(bytes - 1);
                    switch (kind)
                    {
                        case <= 3 when !garbage:
                            f.Driver.Map(f.Domain, R(iova, bytes), 0x10_0000 + ((ulong)slot << 12), slot % 3 == 0 ? Permissions.Read : Permissions.ReadWrite);
                            break;
                        case 4 or 5 when !garbage:
                            f.Driver.Unmap(f.Domain, R(iova, bytes), invalidate: false);
                            break;
                        case 6 when !garbage:
                            f.Driver.Unmap(f.Domain, R(iova, bytes), invalidate: true);
                            break;
                        case 7:
                            WriteGarbage(f, slot, size);
                            garbage = true; // the driver's own table code is not asked to cope with it
                            break;
                        case 8:
                            Check(f, n, replay: false);
                            break;
                        case 9:
                            Check(f, n, replay: true);
                            break;
                    }
                }

                Check(f, n, replay: false);
                Check(f, n, replay: true);
            }, iter: 150);
    }

    [Fact]
    public void A_warm_replay_of_many_mappings_allocates_nothing()
    {
        var f = new VtdFixture(addressWidth: 48);
        for (ulong i = 0; i < 2000; i++)
        {
            // 2000 4 KiB mappings in clusters of 64 across the space: many tree chunks, many tables.
            f.Domain.Table.Map(R(((i / 64) << 36) | ((i % 64) << 15), 0x1000), 0x10_0000 + ((i % 512) << 12), Permissions.ReadWrite);
        }

        long events = 0;
        var notifier = new IommuNotifier(IommuNotifierFlags.IotlbEvents, 0, ulong.MaxValue, (_, _) => events++);
        Assert.True(f.Device.RegisterNotifier(notifier).IsOk);
        f.Device.Replay(notifier);
        f.Device.Replay(notifier);
        events = 0;

        long before = GC.GetAllocatedBytesForCurrentThread();
        f.Device.Replay(notifier);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(1 + 2000, events);
        Assert.Equal(2000, f.Device.IovaTree.Count);
        Assert.Equal(0, allocated);
    }

    // A word of garbage in a table page: a non-present non-zero entry, reserved bits, a huge leaf, or a pointer back up.
    private static void WriteGarbage(VtdFixture f, int slot, int kind)
    {
        ulong table = f.Domain.Table.RootPa;
        if (f.Device.LookupContext(out VtdContextEntry ce) == VtdContextStatus.Ok)
        {
            // Descend to a random existing table below the root, along the entries slot picks.
            for (int level = ce.Levels; level > 1 + (slot & 1); level--)
            {
                ulong pte = f.GuestRam.ReadUInt64(table + ((ulong)((slot >> level) & 0x1ff) * 8));
                if ((pte & 3) == 0 || (pte & 0x80) != 0)
                {
                    break;
                }

                table = pte & X86SecondLevelPte.AddressMask;
            }
        }

        ulong value = kind switch
        {
            0 => 0x1234_5000, // not present (no R/W) but not zero: a per-entry UNMAP event
            1 => 0x3 | (1UL << 52), // reserved bit
            2 => 0x1_0000_0083, // R/W + PS: a huge leaf where the level allows one, reserved bits otherwise
            _ => f.Domain.Table.RootPa | 3, // a table pointer back to the root: reached twice, counted malformed
        };
        f.GuestRam.WriteUInt64(table + ((ulong)(slot & 0x1ff) * 8), value);
    }

    private static void Check(VtdFixture f, RecordingNotifier n, bool replay)
    {
        var tree = new RangeMap<IommuTlbEntry>();
        foreach (RangeMapEntry<IommuTlbEntry> e in f.Device.IovaTree)
        {
            tree.Add(e.Range, e.Value);
        }

        var expected = new ReferenceWalker(f, tree, n.Notifier);
        if (replay)
        {
            expected.Replay();
        }
        else
        {
            expected.Sync();
        }

        n.Clear();
        long reads = f.Unit.PteReads;
        long malformed = f.Unit.MalformedEntries;
        if (replay)
        {
            f.Device.Replay(n.Notifier);
        }
        else
        {
            f.Device.SyncShadowPageTable();
        }

        Assert.Equal(expected.Lines, n.Lines);
        Assert.Equal(tree.Overlapping(IovaRange.Full).ToList(), f.Device.IovaTree.Overlapping(IovaRange.Full).ToList());
        Assert.Equal(expected.Reads, f.Unit.PteReads - reads);
        Assert.Equal(expected.Malformed, f.Unit.MalformedEntries - malformed);
        n.Clear();
    }

    /// <summary>The walk of reference §3.4 entry by entry: one <c>TryReadUInt64</c> per entry, one event per leaf or hole.</summary>
    private sealed class ReferenceWalker(VtdFixture f, RangeMap<IommuTlbEntry> tree, IommuNotifier notifier)
    {
        private readonly HashSet<ulong> _visited = [];
        private IommuNotifier? _sink;
        private bool _notifyUnmap;

        public List<string> Lines => LinesOut;

        public long Reads { get; private set; }

        public long Malformed { get; private set; }

        private List<string> LinesOut { get; } = [];

        // A notifier with the recorded one's range and flags, so NotifyOne crops and filters the same way.
        private IommuNotifier Sink => _sink ??= new(notifier.Flags, notifier.Start, notifier.End, (_, e) => LinesOut.Add(e.ToString()));

        public void Sync()
        {
            // Every test here keeps the context valid and second-level: the sync is one walk with UNMAPs.
            _notifyUnmap = true;
            Walk();
        }

        public void Replay()
        {
            ulong widthLast = (1UL << f.Unit.AddressWidth) - 1;
            ulong end = Math.Min(notifier.End, widthLast);
            if (notifier.Start <= end)
            {
                for (ulong cur = notifier.Start; ;)
                {
                    ulong mask = IommuMasks.AlignedPow2Mask(cur, end, f.Unit.AddressWidth);
                    IommuNotifierList.NotifyOne(Sink, new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(cur, 0, mask, Permissions.None)));
                    if (cur + mask >= end)
                    {
                        break;
                    }

                    cur += mask + 1;
                }

                while (tree.TryGetFirstOverlapping(IovaRange.FromFirstLast(notifier.Start, end), out RangeMapEntry<IommuTlbEntry> e))
                {
                    tree.Remove(e.Range);
                }
            }

            _notifyUnmap = false;
            Walk();
        }

        private void Walk()
        {
            Assert.Equal(VtdContextStatus.Ok, f.Device.LookupContext(out VtdContextEntry ce));
            int width = Math.Min(ce.AddressWidth, f.Unit.AddressWidth);
            Level(ce.SecondLevelPointer & X86SecondLevelPte.AddressMask, 0, (1UL << width) - 1, ce.Levels, 0, true, true);
        }

        private void Level(ulong table, ulong first, ulong last, int level, ulong tableBase, bool read, bool write)
        {
            if (!_visited.Add(table))
            {
                Malformed++;
                return;
            }

            int shift = PageTableLayout.Shift(level);
            ulong span = 1UL << shift;
            for (int i = (int)((first - tableBase) >> shift); i <= (int)((last - tableBase) >> shift); i++)
            {
                ulong entryFirst = tableBase + ((ulong)i << shift);
                Reads++;
                if (!f.GuestRam.TryReadUInt64(table + ((ulong)i * 8), out ulong pte))
                {
                    return;
                }

                if (f.Unit.IsReserved(pte, level))
                {
                    Malformed++;
                    continue;
                }

                bool r = read && (pte & 1) != 0;
                bool w = write && (pte & 2) != 0;
                if ((r || w) && !VtdIommu.IsLeaf(pte, level))
                {
                    Level(pte & X86SecondLevelPte.AddressMask, Math.Max(first, entryFirst), Math.Min(last, entryFirst + span - 1), level - 1, entryFirst, r, w);
                    continue;
                }

                Permissions perm = (r ? Permissions.Read : 0) | (w ? Permissions.Write : 0);
                var entry = new IommuTlbEntry(entryFirst, perm == Permissions.None ? 0 : pte & X86SecondLevelPte.AddressMask, span - 1, perm);
                One(perm == Permissions.None ? IommuNotifierFlags.Unmap : IommuNotifierFlags.Map, entry);
            }
        }

        private void One(IommuNotifierFlags type, IommuTlbEntry entry)
        {
            IovaRange range = entry.Range;
            if (type == IommuNotifierFlags.Unmap)
            {
                if (!_notifyUnmap || !tree.Overlaps(range))
                {
                    return;
                }

                while (tree.TryGetFirstOverlapping(range, out RangeMapEntry<IommuTlbEntry> e))
                {
                    tree.Remove(e.Range);
                }

                IommuNotifierList.NotifyOne(Sink, new IommuTlbEvent(type, entry));
                return;
            }

            if (tree.TryGetFirstOverlapping(range, out RangeMapEntry<IommuTlbEntry> mapped))
            {
                if (mapped.Range == range && mapped.Value == entry)
                {
                    return;
                }

                while (tree.TryGetFirstOverlapping(range, out mapped))
                {
                    tree.Remove(mapped.Range);
                    IommuTlbEntry old = mapped.Value;
                    IommuNotifierList.NotifyOne(Sink, new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(old.Iova, 0, old.AddrMask, Permissions.None)));
                }
            }

            tree.Add(range, entry);
            IommuNotifierList.NotifyOne(Sink, new IommuTlbEvent(type, entry));
        }
    }
}
