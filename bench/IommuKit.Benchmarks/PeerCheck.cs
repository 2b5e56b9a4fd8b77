using System.Globalization;
using IommuKit.Addressing;

namespace IommuKit.Benchmarks;

/// <summary>
/// The IommuKit side of <c>bench/peers/run.sh</c>: the workloads of the C peer harnesses, timed the same way (process
/// CPU time per operation, best of three rounds), printed as one <c>name ns_per_op</c> line each so the script can
/// join them with the C figures. Run with <c>-- --peers</c>.
/// </summary>
/// <remarks>
/// Page tables: <see cref="PageTableBenchmarks"/> (VT-d second level, 4 levels, 4K leaves; the C peer is ARM LPAE
/// 48-bit, the same 4 × 9-bit geometry). Range map: <see cref="RangeMap{T}"/> at 1M records in the GTree harness's
/// layouts: every other page for insert/find/remove, dense for first fit (whose hole is then above the last record).
/// Reverse lookup: <c>VfioContainer.TryFindIova</c> at 1M dense type1 records (the harness's reverse walk).
/// </remarks>
internal static partial class PeerCheck
{
    private const int Rounds = 3;

    public static void Run()
    {
        var pt = new PageTableBenchmarks();
        Best("map4k_seq", PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KSequential);
        Best("map4k_random", PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KRandom);
        Best("unmap4k_seq", PageTableBenchmarks.Pages, pt.SetupFull, pt.Unmap4KSequential);
        pt.SetupWalk();
        Best("walk4k", PageTableBenchmarks.WalkPages * 20_000, () => { }, () =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                pt.Walk4K();
            }
        });
        pt.SetupBatchRegions();
        BestEach("map256", PageTableBenchmarks.BatchRegions, pt.UnmapBatchRegions, pt.Map256x4K);
        BestEach("unmap256", PageTableBenchmarks.BatchRegions, pt.MapBatchRegions, pt.Unmap256x4K);
        pt.SetupBatch();
        Best("mapunmap256", 20_000, () => { }, () =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                pt.MapUnmap256x4K();
            }
        });

        const int records = RangeMapBenchmarks.Records;
        RangeMap<int> map = new();
        Best("gtree_insert", records, () => map = new RangeMap<int>(), () =>
        {
            for (int i = 0; i < records; i++)
            {
                map.TryAdd(IovaRange.FromStartSize((ulong)i << 13, 0x1000), i);
            }
        });

        var lookups = new RangeMapBenchmarks();
        lookups.Setup();
        Best("gtree_find", RangeMapBenchmarks.Lookups * 200, () => { }, () =>
        {
            for (int r = 0; r < 200; r++)
            {
                lookups.LookupAt1M();
            }
        });

        Best("gtree_remove", records, () =>
        {
            map = new RangeMap<int>();
            for (int i = 0; i < records; i++)
            {
                map.Add(IovaRange.FromStartSize((ulong)i << 13, 0x1000), i);
            }
        }, () =>
        {
            for (int i = 0; i < records; i++)
            {
                map.Remove(IovaRange.FromStartSize((ulong)i << 13, 0x1000));
            }
        });

        var dense = new RangeMap<int>();
        for (int i = 0; i < records; i++)
        {
            dense.Add(IovaRange.FromStartSize((ulong)i << 12, 0x1000), i);
        }

        IovaRange window = IovaRange.FromFirstLast(0, (1UL << 48) - 1);
        Best("gtree_firstfit", 100_000, () => { }, () =>
        {
            for (int k = 0; k < 100_000; k++)
            {
                if (!dense.TryFindGap(window, 0x1000, out IovaRange hole) || hole.First != (ulong)records << 12)
                {
                    throw new InvalidOperationException("first fit must find the hole above the last record");
                }
            }
        });

        RunReverseLookup();
    }

    /// <summary>
    /// For short bodies that need an untimed <paramref name="setup"/> before each (the separate batch rows): the
    /// thread's CPU time around each body, summed over 300 bodies, best of <see cref="Rounds"/>.
    /// </summary>
    private static void BestEach(string name, int ops, Action setup, Action body)
    {
        double best = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            best = Math.Min(best, CpuTimeCheck.MeasureEach(ops, 300, setup, body).Ns);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {best:F2}"));
    }

    /// <summary>Runs <paramref name="body"/> once to warm up, then <see cref="Rounds"/> times, each after <paramref name="setup"/>; prints the best.</summary>
    private static void Best(string name, int ops, Action setup, Action body)
    {
        setup();
        body();
        double best = double.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            setup();
            CpuTimeCheck.ForceFullGc(); // as BenchmarkDotNet does between iterations
            long start = CpuTimeCheck.ProcessCpuNs(); // ns resolution (Process.TotalProcessorTime counts 10 ms ticks)
            body();
            best = Math.Min(best, (double)(CpuTimeCheck.ProcessCpuNs() - start) / ops);
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {best:F2}"));
    }
}
