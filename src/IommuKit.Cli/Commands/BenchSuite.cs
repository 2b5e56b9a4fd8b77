using System.Diagnostics;
using IommuKit.Addressing;
using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Cli.Commands;

/// <summary>One row of <c>iommukit bench</c>: an operation, its measured cost and the issue 6 target.</summary>
/// <param name="Operation">What one operation is.</param>
/// <param name="NsPerOp">Nanoseconds per operation (the best of the rounds, in <see cref="BenchSuite.ClockName"/> time).</param>
/// <param name="TargetNs">The target in nanoseconds per operation.</param>
/// <param name="Peer">The C peer's figure the target comes from.</param>
internal readonly record struct BenchResult(string Operation, double NsPerOp, double TargetNs, string Peer)
{
    /// <summary>True when the measured cost is within the target.</summary>
    public bool Met => NsPerOp <= TargetNs;
}

/// <summary>
/// The quick benchmark suite behind <c>iommukit bench</c>: small Stopwatch loops over the same workloads as
/// <c>bench/IommuKit.Benchmarks</c> (not BenchmarkDotNet), each timed in a few rounds and reported as the best round.
/// On Linux the clock is the thread's CPU time (<c>CLOCK_THREAD_CPUTIME_ID</c>), so time spent descheduled on a shared
/// machine is not counted; elsewhere it is the wall clock. Sizes follow <c>size</c> (mappings or pages).
/// </summary>
internal static class BenchSuite
{

    private static readonly bool UseThreadCpuTime = OperatingSystem.IsLinux() && CpuClock.TryNowNs(CpuClock.Thread, out _);

    /// <summary>The clock the rows are measured with: "thread CPU" on Linux, "wall clock" elsewhere.</summary>
    public static string ClockName => UseThreadCpuTime ? "thread CPU" : "wall clock";

    private const ulong P = PageSizes.Size4K;
    private const ulong Base = 0x10_0000_0000; // 64 GiB: every level of a walk has a non-zero index
    private const ulong Pa = 0x40_0000_0000;
    private const ulong UserBase = 0x7f00_0000_0000;
    private const int Probes = 4096;

    /// <summary>The number of rows <see cref="Run"/> produces.</summary>
    public const int RowCount = 16;

    /// <summary>Runs every row at working-set <paramref name="size"/>; <paramref name="rowDone"/> is called after each.</summary>
    public static List<BenchResult> Run(int size, bool full, Action<string> rowDone)
    {
        int rounds = full ? 7 : 3;
        double minMs = full ? 100 : 10; // each timed round runs at least this long
        var rows = new List<BenchResult>(RowCount);

        void Add(BenchResult r)
        {
            rows.Add(r);
            rowDone(r.Operation);
        }

        Add(new("translate, IOTLB hit", IotlbHit(rounds, minMs), 5, "hash IOTLB 3-6 ns"));
        Add(new("translate by 4-level walk", Walk(rounds, minMs), 8, "io-pgtable-arm 8.1 ns"));
        (double map, double unmap) = MapUnmapSequential(size, rounds);
        Add(new($"map 1x4K sequential ({size} pages)", map, 23, "io-pgtable-arm 23 ns"));
        Add(new($"map 1x4K random order ({size} pages)", MapRandom(size, rounds), 78, "io-pgtable-arm 78 ns"));
        Add(new($"unmap 1x4K sequential ({size} pages)", unmap, 14, "io-pgtable-arm 14 ns"));
        (double batchMap, double batchUnmap) = Batch256(rounds);
        Add(new("map 256x4K, one call", batchMap, 392, "iommupt 392 ns"));
        Add(new("unmap 256x4K, one call", batchUnmap, 225, "iommupt 225 ns"));
        Add(new($"record lookup ({size} mappings)", RecordLookup(size, rounds, minMs), 150, "GTree 1.47 us"));
        Add(new($"first-fit gap search ({size} mappings)", GapSearch(size, rounds, minMs), 500, "iova-tree linear"));
        Add(new($"IOAS_MAP auto + UNMAP ({size} areas)", IoasAutoMap(size, rounds, minMs), 500, "iova-tree 171 ms"));
        Add(new($"reverse lookup vaddr->IOVA ({size} mappings)", ReverseLookup(size, rounds, minMs), 500, "iova-tree 85 ms"));
        Add(new("type1 MAP_DMA + UNMAP_DMA 4K, with a domain", Type1RoundTrip(rounds, minMs), 500, "VFIO 2.66 us"));
        int p = Math.Min(size, 1 << 16);
        double fullSpaceTarget = (50.0 * p) + 1000;
        Add(new($"type1 unmap-all spread, full space, P = {p}", Type1UnmapAll(p, rounds, spread: true), fullSpaceTarget, "QEMU replay 2^52 calls"));
        Add(new($"type1 unmap-all dense, full space, P = {p}", Type1UnmapAll(p, rounds, spread: false), fullSpaceTarget, "QEMU replay 2^52 calls"));
        Add(new($"visit of the full space, P = {p} leaves", VisitFullSpace(p, rounds), fullSpaceTarget, "QEMU replay 2^52 calls"));
        Add(new($"VT-d replay of the full space, P = {p}", VtdReplay(p, rounds), fullSpaceTarget, "QEMU replay 2^52 calls"));
        return rows;
    }

    // Runs body(n) with n grown until one call lasts minMs, then keeps the best of rounds; ns per op.
    private static double Time(int rounds, double minMs, Func<int, ulong> body)
    {
        int n = 16;
        ulong sink = body(n); // warm up and tier up
        while (true)
        {
            double start = NowNs();
            sink += body(n);
            if (NowNs() - start >= minMs * 1e6 || n >= 1 << 28)
            {
                break;
            }

            n *= 4;
        }

        double best = double.MaxValue;
        for (int r = 0; r < rounds; r++)
        {
            double start = NowNs();
            sink += body(n);
            best = Math.Min(best, (NowNs() - start) / n);
        }

        GC.KeepAlive(sink);
        return best;
    }

    // Nanoseconds on the suite's clock (see ClockName); only differences are meaningful.
    private static double NowNs() =>
        UseThreadCpuTime && CpuClock.TryNowNs(CpuClock.Thread, out long ns) ? ns : Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency);

    private static IoPageTable NewTable() =>
        IoPageTable.Create(PageTableFormat.X86SecondLevel4Level, new FrameAllocator(new PhysicalMemory()), PageSizes.Only4K);

    private static double IotlbHit(int rounds, double minMs)
    {
        var domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        domain.Map(IovaRange.FromStartSize(Base, 8 * P), Pa, Permissions.ReadWrite);
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += domain.Translate(Base + ((ulong)(i & 7) << 12), DmaAccess.Read).Pa;
            }

            return sum;
        });
    }

    private static double Walk(int rounds, double minMs)
    {
        IoPageTable table = NewTable();
        table.TryMap(IovaRange.FromStartSize(Base, 1024 * P), Pa, Permissions.ReadWrite);
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                sum += table.Translate(Base + ((ulong)(i & 1023) << 12)).Pa;
            }

            return sum;
        });
    }

    private static (double Map, double Unmap) MapUnmapSequential(int pages, int rounds)
    {
        double bestMap = double.MaxValue;
        double bestUnmap = double.MaxValue;
        for (int r = 0; r <= rounds; r++)
        {
            IoPageTable table = NewTable();
            double start = NowNs();
            for (ulong i = 0; i < (ulong)pages; i++)
            {
                table.TryMap(IovaRange.FromStartSize(Base + (i << 12), P), Pa + (i << 12), Permissions.ReadWrite);
            }

            double map = (NowNs() - start) / pages;
            start = NowNs();
            for (ulong i = 0; i < (ulong)pages; i++)
            {
                table.Unmap(IovaRange.FromStartSize(Base + (i << 12), P));
            }

            double unmap = (NowNs() - start) / pages;
            if (r > 0) // round 0 warms up
            {
                bestMap = Math.Min(bestMap, map);
                bestUnmap = Math.Min(bestUnmap, unmap);
            }
        }

        return (bestMap, bestUnmap);
    }

    private static double MapRandom(int pages, int rounds)
    {
        var order = new ulong[pages];
        for (int i = 0; i < pages; i++)
        {
            order[i] = (ulong)i;
        }

        new Random(42).Shuffle(order);
        double best = double.MaxValue;
        for (int r = 0; r <= rounds; r++)
        {
            IoPageTable table = NewTable();
            double start = NowNs();
            foreach (ulong i in order)
            {
                table.TryMap(IovaRange.FromStartSize(Base + (i << 12), P), Pa + (i << 12), Permissions.ReadWrite);
            }

            double ns = (NowNs() - start) / pages;
            if (r > 0) // round 0 warms up
            {
                best = Math.Min(best, ns);
            }
        }

        return best;
    }

    // One call maps (then one call unmaps) 256 x 4K in each of 64 regions 2 MiB apart; a page past them stays mapped
    // so only the leaf tables come and go. Each half is timed on its own; ns per call, best round.
    private static (double Map, double Unmap) Batch256(int rounds)
    {
        const int Regions = 64;
        IoPageTable table = NewTable();
        table.TryMap(IovaRange.FromStartSize(Base + ((ulong)Regions << 21), P), Pa, Permissions.ReadWrite);
        double bestMap = double.MaxValue;
        double bestUnmap = double.MaxValue;
        for (int r = 0; r <= rounds; r++)
        {
            double mapNs = 0;
            double unmapNs = 0;
            for (int k = 0; k < 16; k++)
            {
                double start = NowNs();
                for (ulong g = 0; g < Regions; g++)
                {
                    table.TryMap(IovaRange.FromStartSize(Base + (g << 21), 256 * P), Pa, Permissions.ReadWrite);
                }

                mapNs += NowNs() - start;
                start = NowNs();
                for (ulong g = 0; g < Regions; g++)
                {
                    table.Unmap(IovaRange.FromStartSize(Base + (g << 21), 256 * P));
                }

                unmapNs += NowNs() - start;
            }

            if (r > 0) // round 0 warms up
            {
                bestMap = Math.Min(bestMap, mapNs / (16 * Regions));
                bestUnmap = Math.Min(bestUnmap, unmapNs / (16 * Regions));
            }
        }

        return (bestMap, bestUnmap);
    }

    // size 4K records on every other page, probed at random mapped addresses.
    private static RangeMap<int> EveryOtherPage(int size)
    {
        var map = new RangeMap<int>();
        for (int i = 0; i < size; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i << 13, P), i);
        }

        return map;
    }

    private static ulong[] RandomProbes(int size, ulong baseAddress, int shift, ulong offset)
    {
        var rng = new Random(7);
        var probes = new ulong[Probes];
        for (int k = 0; k < Probes; k++)
        {
            probes[k] = baseAddress + ((ulong)rng.Next(size) << shift) + offset;
        }

        return probes;
    }

    private static double RecordLookup(int size, int rounds, double minMs)
    {
        RangeMap<int> map = EveryOtherPage(size);
        ulong[] probes = RandomProbes(size, 0, 13, 0x10);
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                if (map.TryFind(probes[i & (Probes - 1)], out RangeMapEntry<int> e))
                {
                    sum += (ulong)e.Value;
                }
            }

            return sum;
        });
    }

    private static double GapSearch(int size, int rounds, double minMs)
    {
        // Every hole is 4K: an 8K hole exists only after the last record, which the index reaches without a walk.
        RangeMap<int> map = EveryOtherPage(size);
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                map.TryFindGap(IovaRange.Full, 2 * P, out IovaRange hole);
                sum += hole.First;
            }

            return sum;
        });
    }

    private static double IoasAutoMap(int size, int rounds, double minMs)
    {
        // size 4K areas on every other page from PAGE_SIZE: an automatic 8K map lands after the last one.
        var fd = new Iommufd.Iommufd();
        Ioas ioas = fd.CreateIoas();
        for (int i = 0; i < size; i++)
        {
            ioas.Map(IovaRange.FromStartSize(P + ((ulong)i * 2 * P), P), UserBase + ((ulong)i * P), Permissions.ReadWrite);
        }

        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                var map = new IommuIoasMap { IoasId = ioas.Id, Flags = IoasMapFlags.Readable | IoasMapFlags.Writeable, UserVa = 0, Length = 2 * P };
                fd.IoasMap(ref map);
                var unmap = new IommuIoasUnmap { IoasId = ioas.Id, Iova = map.Iova, Length = 2 * P };
                fd.IoasUnmap(ref unmap);
                sum += map.Iova;
            }

            return sum;
        });
    }

    private static VfioContainer Type1(uint limit, out HostMemory host)
    {
        host = new HostMemory(new PhysicalMemory());
        var container = new VfioContainer(host, limit);
        container.SetIommu(VfioIommuType.Type1v2);
        return container;
    }

    private static double ReverseLookup(int size, int rounds, double minMs)
    {
        VfioContainer container = Type1((uint)size + 1, out _);
        for (int i = 0; i < size; i++)
        {
            container.MapDma(new VfioDmaMap((ulong)i * 2 * P, P, UserBase + ((ulong)i * P), VfioDmaMapFlags.Read | VfioDmaMapFlags.Write));
        }

        ulong[] probes = RandomProbes(size, UserBase, 12, 0x80);
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                if (container.TryFindIova(probes[i & (Probes - 1)], out ulong iova))
                {
                    sum += iova;
                }
            }

            return sum;
        });
    }

    private static double Type1RoundTrip(int rounds, double minMs)
    {
        VfioContainer container = Type1(VfioContainer.DefaultDmaEntryLimit, out HostMemory host);
        container.AttachDomain(new IommuDomain(new FrameAllocator(host.Physical)));
        return Time(rounds, minMs, n =>
        {
            ulong sum = 0;
            for (int i = 0; i < n; i++)
            {
                container.MapDma(new VfioDmaMap(0x1_0000_0000, P, 0x1000_0000, VfioDmaMapFlags.Read | VfioDmaMapFlags.Write));
                var unmap = new VfioDmaUnmap(0x1_0000_0000, P);
                container.UnmapDma(ref unmap);
                sum += unmap.Size;
            }

            return sum;
        });
    }

    // ns for one unmap-all of p 4K mappings, spread over the 48-bit aperture or dense (abutting from 4 GiB), with a
    // domain attached (best round).
    private static double Type1UnmapAll(int p, int rounds, bool spread)
    {
        double best = double.MaxValue;
        ulong stride = spread ? ((1UL << 47) / (ulong)p) & ~(P - 1) : P;
        ulong first = spread ? 0 : Base;
        for (int r = 0; r <= rounds; r++)
        {
            VfioContainer container = Type1((uint)p + 1, out HostMemory host);
            container.AttachDomain(new IommuDomain(new FrameAllocator(host.Physical)));
            for (int i = 0; i < p; i++)
            {
                container.MapDma(new VfioDmaMap(first + ((ulong)i * stride), P, 0x1000_0000 + ((ulong)i << 12), VfioDmaMapFlags.Read | VfioDmaMapFlags.Write));
            }

            var unmap = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
            double start = NowNs();
            container.UnmapDma(ref unmap, out UInt128 _);
            double ns = NowNs() - start;
            if (r > 0)
            {
                best = Math.Min(best, ns);
            }
        }

        return best;
    }

    // ns for one visit of [0, 2^64 - 1] over p 4K leaves spread over the 48-bit space (best round).
    private static double VisitFullSpace(int p, int rounds)
    {
        IoPageTable table = NewTable();
        ulong stride = ((1UL << 47) / (ulong)p) & ~(P - 1);
        for (int i = 0; i < p; i++)
        {
            table.TryMap(IovaRange.FromStartSize((ulong)i * stride, P), Pa, Permissions.ReadWrite);
        }

        double best = double.MaxValue;
        for (int r = 0; r <= rounds; r++)
        {
            var counter = new LeafCounter();
            double start = NowNs();
            table.Visit(IovaRange.Full, ref counter);
            double ns = NowNs() - start;
            if (counter.Leaves != p)
            {
                throw new InvalidOperationException($"visit found {counter.Leaves} leaves, expected {p}");
            }

            if (r > 0)
            {
                best = Math.Min(best, ns);
            }
        }

        return best;
    }

    // ns for one VT-d replay (vtd_iommu_replay) to a MAP|UNMAP notifier over [0, 2^64 - 1] of an aw-48 guest with p
    // 4K mappings in clusters of 64 spread over the 48-bit space (best round).
    private static double VtdReplay(int p, int rounds)
    {
        var map = new MemoryMap.MemoryMap();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        system.AddSubregion(0, map.CreateRam("ram0", 1UL << 30));
        var guestRam = new PhysicalMemory();
        guestRam.AddBacking(IovaRange.FromStartSize(0, 1UL << 30));
        var unit = new VtdIommu(map, system, guestRam, new VtdOptions { AddressWidth = 48, CachingMode = true });
        var driver = new GuestIommuDriver(unit, new FrameAllocator(guestRam, IovaRange.FromStartSize(0x2000_0000, 512UL << 20)));
        GuestDomain domain = driver.CreateDomain();
        driver.AttachDevice(domain, 0, 3 << 3);
        driver.EnableTranslation();
        VtdDeviceSpace device = unit.GetDevice(0, 3 << 3);
        const int Cluster = 64;
        int clusters = (p + Cluster - 1) / Cluster;
        ulong stride = ((1UL << 48) / (ulong)clusters) & ~((1UL << 21) - 1); // 2 MiB aligned cluster starts
        for (int i = 0; i < p; i++)
        {
            ulong iova = ((ulong)(i / Cluster) * stride) + ((ulong)(i % Cluster) << 15);
            domain.Table.Map(IovaRange.FromStartSize(iova, P), (ulong)(i % 4096) << 12, Permissions.ReadWrite);
        }

        long events = 0;
        var notifier = new IommuNotifier(IommuNotifierFlags.IotlbEvents, 0, ulong.MaxValue, (_, _) => events++);
        if (!device.RegisterNotifier(notifier).IsOk)
        {
            throw new InvalidOperationException("the replay notifier did not register");
        }

        double best = double.MaxValue;
        for (int r = 0; r <= rounds; r++)
        {
            events = 0;
            double start = NowNs();
            device.Replay(notifier);
            double ns = NowNs() - start;
            if (events != p + 1)
            {
                throw new InvalidOperationException($"replay sent {events} events, expected 1 UNMAP + {p} MAPs");
            }

            if (r > 0)
            {
                best = Math.Min(best, ns);
            }
        }

        return best;
    }

    private struct LeafCounter : IPageTableVisitor
    {
        public long Leaves;

        public readonly void VisitTable(ulong tablePa, int level, ulong iovaBase)
        {
        }

        public void VisitLeaf(in PageTableLeaf leaf) => Leaves++;
    }
}
