using CsCheck;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Model;

// The IOTLB model check, for every page-table format: random map / unmap (with and without flush) / range, page and
// global invalidation / translate sequences through an IommuDomain with a small IOTLB (evictions happen), against a
// naive model: a list of mapped ranges and a list of "may still be cached" ranges (unmapped without a flush since).
// Rules pinned (the domain's documented contract, VT-d style explicit invalidation):
// 1. A translation through the domain equals a fresh page walk (same PA and permissions, or the same fault), unless the
//    page was unmapped without a flush since it was last invalidated.
// 2. Only then may it differ, and only as a stale hit: marked IsStale, through the IOTLB, with a PA and permissions the
//    page had when it was unmapped (or a permission fault those permissions explain).
// 3. After an invalidation covering the page (range, page, global, unmap-and-flush), rule 1 holds again.
// The page walk itself is checked against the mapped-range list, so the fresh walk is not its own reference.
public class IotlbModelTests
{
    private const ulong K4 = PageSizes.Size4K;
    private const ulong M2 = PageSizes.Size2M;
    private const ulong G1 = PageSizes.Size1G;
    private const ulong PaBase = 0x40_0000_0000;

    public static TheoryData<PageTableFormat> Formats => [.. Enum.GetValues<PageTableFormat>()];

    private enum Kind
    {
        Map,
        Unmap,
        UnmapAndFlush,
        Flush,
        FlushPage,
        FlushAll,
        Translate,
    }

    private sealed record Op(Kind Kind, bool Top, ulong Offset, ulong Size, ulong PaDelta, Permissions Perms, int Pick, DmaAccess Access);

    // Offsets inside a 4 GiB window at 0 or at the top of the format's address range, favouring 2M / 1G boundaries.
    private static readonly Gen<ulong> Offset = Gen.Frequency(
        (2, Gen.ULong[0, 3].Select(k => k * G1)),
        (6, Gen.ULong[0, 2047].Select(k => k * M2)),
        (3, Gen.ULong[0, 0xfffff].Select(k => k * K4)),
        (1, Gen.ULong[0, 2047].Select(k => (k * M2) + M2 - K4)));

    private static readonly Gen<ulong> Size = Gen.Frequency(
        (10, Gen.ULong[1, 16].Select(n => n * K4)),
        (8, Gen.Const(M2)),
        (3, Gen.Const(M2 + K4)),
        (3, Gen.ULong[2, 4].Select(n => n * M2)),
        (1, Gen.Const(G1)));

    private static readonly Gen<Op> OneOp = Gen.Select(
        Gen.Frequency((5, Gen.Const(Kind.Map)), (3, Gen.Const(Kind.Unmap)), (1, Gen.Const(Kind.UnmapAndFlush)),
            (1, Gen.Const(Kind.Flush)), (1, Gen.Const(Kind.FlushPage)), (1, Gen.Const(Kind.FlushAll)), (10, Gen.Const(Kind.Translate))),
        Gen.Frequency((4, Gen.Const(false)), (1, Gen.Const(true))),
        Offset, Size,
        Gen.Frequency((6, Gen.Const(0UL)), (2, Gen.ULong[1, 8].Select(n => n * G1)), (1, Gen.Const(K4)), (1, Gen.ULong[1, 511].Select(n => n * M2))),
        Gen.Frequency((6, Gen.Const(Permissions.ReadWrite)), (3, Gen.Const(Permissions.Read)), (1, Gen.Const(Permissions.Write))),
        Gen.Int[0, 1 << 20],
        Gen.Frequency((4, Gen.Const(DmaAccess.Read)), (3, Gen.Const(DmaAccess.Write)), (1, Gen.Const(DmaAccess.ReadWrite))))
        .Select((k, top, off, size, delta, perms, pick, access) => new Op(k, top, off, size, delta, perms, pick, access));

    [Theory]
    [MemberData(nameof(Formats))]
    public void Translation_through_the_iotlb_equals_a_fresh_walk_except_stale_hits_on_unflushed_unmaps(PageTableFormat format)
    {
        long hits = 0, staleHits = 0, translations = 0;
        OneOp.Array[10, 60].Sample(ops =>
        {
            (long h, long s, long t) = Run(format, ops);
            Interlocked.Add(ref hits, h);
            Interlocked.Add(ref staleHits, s);
            Interlocked.Add(ref translations, t);
        }, seed: "0N0XIzNsQ0O2", iter: 150, threads: 1);

        // The sequences must exercise the cache and its stale path, or the rules above were checked vacuously.
        Assert.True(translations > 2000, $"{translations} translations");
        Assert.True(hits > translations / 10, $"{hits} IOTLB hits of {translations}");
        Assert.True(staleHits > 20, $"{staleHits} stale hits");
    }

    private static (long Hits, long Stale, long Translations) Run(PageTableFormat format, Op[] ops)
    {
        var frames = new FrameAllocator(new PhysicalMemory());
        var domain = new IommuDomain(frames, new IommuDomainOptions { Format = format, Iotlb = new IotlbGeometry(16, 4) });
        ulong topBase = domain.PageTable.AddressRange.Last - (4 * G1) + 1;
        var mapped = new List<Rec>();  // current mappings, disjoint
        var stale = new List<Rec>();   // unmapped without a flush since: what the IOTLB may still answer
        var history = new List<IovaRange>(); // ranges unmapped or flushed: translations aim there too
        long hits = 0, staleHits = 0, translations = 0;

        for (int i = 0; i < ops.Length; i++)
        {
            Op op = ops[i];
            ulong baseIova = op.Top ? topBase : 0;
            ulong first = baseIova + Math.Min(op.Offset, (4 * G1) - op.Size); // the range stays inside the window
            var range = IovaRange.FromStartSize(first, op.Size);
            List<Rec> targets = op.Kind is Kind.Flush or Kind.FlushPage && stale.Count > 0 ? stale : mapped;
            if (op.Kind is Kind.Unmap or Kind.UnmapAndFlush or Kind.Flush or Kind.FlushPage && targets.Count > 0 && op.Pick % 4 != 0)
            {
                // Aim at a mapping (flushes: at an unflushed unmap): all of it, or one page of it (which splits a huge leaf).
                IovaRange target = targets[op.Pick % targets.Count].Range;
                range = op.Pick % 4 == 1 ? IovaRange.FromStartSize(target.Last & ~(K4 - 1), K4) : target;
                first = op.Kind == Kind.FlushPage ? target.First + (ulong)((UInt128)(ulong)op.Pick * K4 % target.Size) : range.First;
                history.Add(range);
            }

            string where = $"{PageTableFormats.Name(format)} step {i}: {op} range {range}";
            switch (op.Kind)
            {
                case Kind.Map:
                    {
                        ulong pa = PaBase + (first - baseIova) + op.PaDelta;
                        PageTableStatus status = domain.TryMap(range, pa, op.Perms);
                        bool free = !mapped.Any(r => r.Range.Overlaps(range));
                        bool supported = format != PageTableFormat.ArmLpae48 || op.Perms != Permissions.Write; // LPAE has no write-only
                        Assert.True((free && supported) == (status == PageTableStatus.Ok), $"{where}: map {status}, model free={free}");
                        if (free && supported)
                        {
                            mapped.Add(new Rec(range, pa, op.Perms));
                        }

                        break;
                    }

                case Kind.Unmap:
                case Kind.UnmapAndFlush:
                    {
                        UnmapResult result = op.Kind == Kind.Unmap ? domain.Unmap(range) : domain.UnmapAndFlush(range);
                        UInt128 bytes = 0;
                        foreach (Rec r in mapped.Where(r => r.Range.Overlaps(range)).ToList())
                        {
                            mapped.Remove(r);
                            foreach (Rec piece in r.Minus(range))
                            {
                                mapped.Add(piece);
                            }

                            Rec cut = r.Within(range);
                            bytes += cut.Range.Size;
                            if (op.Kind == Kind.Unmap)
                            {
                                stale.Add(cut);
                            }
                        }

                        Assert.True(result.BytesUnmapped == bytes, $"{where}: unmapped 0x{result.BytesUnmapped:x}, model 0x{bytes:x}");
                        if (op.Kind == Kind.UnmapAndFlush)
                        {
                            Forget(stale, range);
                        }

                        break;
                    }

                case Kind.Flush:
                    domain.Flush(range);
                    Forget(stale, range);
                    break;
                case Kind.FlushPage:
                    domain.FlushPage(first);
                    Forget(stale, IovaRange.FromStartSize(first & ~(K4 - 1), K4));
                    break;
                case Kind.FlushAll:
                    domain.FlushAll();
                    stale.Clear();
                    break;
                case Kind.Translate:
                    {
                        // Aim at a mapped or stale page (first, last or a middle byte) so the IOTLB is hit, or anywhere.
                        List<IovaRange> aims = stale.Count > 0 && op.Pick % 2 == 0
                            ? [.. stale.Select(r => r.Range)]
                            : [.. mapped.Select(r => r.Range), .. stale.Select(r => r.Range), .. history.TakeLast(4)];
                        ulong iova = first + (ulong)op.Pick % op.Size;
                        if (aims.Count > 0 && op.Pick % 5 != 0)
                        {
                            IovaRange r = aims[op.Pick % aims.Count];
                            iova = (op.Pick % 3) switch
                            {
                                0 => r.First,
                                1 => r.Last,
                                _ => r.First + (ulong)((UInt128)(ulong)op.Pick * K4 % r.Size),
                            };
                        }

                        for (int repeat = 0; repeat < 2; repeat++)
                        {
                            DmaTranslation t = domain.Translate(iova, op.Access);
                            translations++;
                            hits += t.FromIotlb ? 1 : 0;
                            staleHits += t.IsStale ? 1 : 0;
                            CheckTranslation(domain, mapped, stale, iova, op.Access, t, $"{where}: translate 0x{iova:x} #{repeat}");
                        }

                        break;
                    }
            }
        }

        return (hits, staleHits, translations);
    }

    private static void CheckTranslation(IommuDomain domain, List<Rec> mapped, List<Rec> stale, ulong iova, DmaAccess access, DmaTranslation t, string where)
    {
        // The walk agrees with the mapped-range list.
        PageTranslation walk = domain.PageTable.Translate(iova);
        Rec? m = mapped.FirstOrDefault(r => r.Range.Contains(iova));
        Assert.True(walk.IsPresent == m is not null, $"{where}: walk present {walk.IsPresent}, model {m}");
        if (m is not null)
        {
            Assert.True(walk.Pa == m.PaOf(iova) && walk.Permissions == m.Perms, $"{where}: walk 0x{walk.Pa:x} {walk.Permissions}, model {m}");
        }

        if (Explains(m, iova, access, t))
        {
            Assert.True(!t.IsStale || stale.Any(r => r.Range.Contains(iova)), $"{where}: {t} marked stale with no unflushed unmap of the page");
            return;
        }

        // Rule 2: differs from the walk only as a stale hit on a page unmapped without a flush.
        List<Rec> candidates = [.. stale.Where(r => r.Range.Contains(iova))];
        Assert.True(candidates.Count > 0, $"{where}: {t} differs from the fresh walk {walk} and the page was flushed");
        Assert.True(t.FromIotlb, $"{where}: {t} differs from the walk but did not come from the IOTLB");
        Assert.True(candidates.Any(r => Explains(r, iova, access, t)), $"{where}: {t} matches no unflushed old mapping");
        Assert.True(!t.IsOk || t.IsStale, $"{where}: stale hit {t} not marked IsStale");
    }

    // Whether t is what a translation through mapping r (null: nothing mapped) gives.
    private static bool Explains(Rec? r, ulong iova, DmaAccess access, DmaTranslation t)
    {
        if (r is null)
        {
            return !t.IsOk && t.Fault.Reason == DmaFaultReason.NotPresent;
        }

        bool allowed = ((int)access & ~(int)r.Perms) == 0;
        if (!allowed)
        {
            return !t.IsOk && t.Fault.Reason is DmaFaultReason.WriteToReadOnly or DmaFaultReason.ReadOfWriteOnly;
        }

        return t.IsOk && t.Pa == r.PaOf(iova) && t.Permissions == r.Perms;
    }

    private static void Forget(List<Rec> stale, IovaRange range)
    {
        foreach (Rec r in stale.Where(r => r.Range.Overlaps(range)).ToList())
        {
            stale.Remove(r);
            stale.AddRange(r.Minus(range));
        }
    }

    private sealed record Rec(IovaRange Range, ulong Pa, Permissions Perms)
    {
        public ulong PaOf(ulong iova) => Pa + (iova - Range.First);

        // The parts of this record outside 'cut' (0, 1 or 2 pieces), PA kept in step.
        public IEnumerable<Rec> Minus(IovaRange cut)
        {
            if (Range.First < cut.First)
            {
                yield return this with { Range = IovaRange.FromFirstLast(Range.First, cut.First - 1) };
            }

            if (Range.Last > cut.Last)
            {
                ulong first = cut.Last + 1; // cut.Last < Range.Last <= 2^64-1
                yield return new Rec(IovaRange.FromFirstLast(first, Range.Last), PaOf(first), Perms);
            }
        }

        // The part of this record inside 'cut' (they overlap).
        public Rec Within(IovaRange cut)
        {
            ulong first = Math.Max(Range.First, cut.First);
            return new Rec(IovaRange.FromFirstLast(first, Math.Min(Range.Last, cut.Last)), PaOf(first), Perms);
        }

        public override string ToString() => $"{Range} -> 0x{Pa:x} {Perms}";
    }
}
