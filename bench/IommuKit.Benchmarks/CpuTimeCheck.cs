using System.Diagnostics;
using System.Globalization;

using IommuKit.Cli.Commands;

namespace IommuKit.Benchmarks;

/// <summary>
/// A quick check for a shared, oversubscribed machine: runs the hot benchmarks in a loop and divides the process's
/// CPU time (not wall time) by the operations done, so time spent descheduled is not counted. Run with
/// <c>-- --cpu-time</c>. A cross-check for the BenchmarkDotNet numbers, not a replacement.
/// </summary>
internal static class CpuTimeCheck
{
    public static void Run(string? only = null)
    {
        if (only == "replay")
        {
            ReplayCpuTime.Run();
            return;
        }

        if (only != "pagetable")
        {
            RunHotPaths();
        }

        RunPageTable();
    }

    private static void RunHotPaths()
    {
        var translate = new TranslateBenchmarks();
        translate.Setup();
        var visit = new VisitBenchmarks();
        visit.Setup();

        for (int round = 0; round < 3; round++)
        {
            Report("IotlbHit", 1024, 20_000, () => translate.IotlbHit());
            Report("IotlbMiss", 1024, 2_000, () => translate.IotlbMiss());
            Report("PageWalk", 1024, 2_000, () => translate.PageWalk());
            Report("VisitEmpty", 1, 100_000, () => visit.VisitEmpty());
        }

        var rm = new RangeMapBenchmarks();
        rm.Setup();
        Report("Lookup1M", RangeMapBenchmarks.Lookups, 500, () => rm.LookupAt1M());
    }

    // The page-table engine rows: each row runs `rounds` times; min and median printed (the min is the figure to read
    // on a shared machine, the median shows the spread). Rows with an untimed setup between short bodies (the
    // separate batch rows) use the thread's CPU time around each body instead of the process's.
    private static void RunPageTable()
    {
        const int rounds = 5;
        var pt = new PageTableBenchmarks();
        var rows = new (string Name, Func<(double Ns, double Bytes)> Once)[]
        {
            ("Walk4K", () =>
            {
                pt.SetupWalk();
                return Measure(PageTableBenchmarks.WalkPages * 20_000, () => { }, () =>
                {
                    for (int i = 0; i < 20_000; i++)
                    {
                        pt.Walk4K();
                    }
                });
            }),
            ("Map4KSeq", () => Measure(PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KSequential)),
            ("Map4KRandom", () => Measure(PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KRandom)),
            ("Unmap4KSeq", () => Measure(PageTableBenchmarks.Pages, pt.SetupFull, pt.Unmap4KSequential)),
            ("Map256", () =>
            {
                pt.SetupBatchRegions();
                return MeasureEach(PageTableBenchmarks.BatchRegions, 300, pt.UnmapBatchRegions, pt.Map256x4K);
            }),
            ("Unmap256", () =>
            {
                pt.SetupBatchRegions();
                return MeasureEach(PageTableBenchmarks.BatchRegions, 300, pt.MapBatchRegions, pt.Unmap256x4K);
            }),
            ("MapUnmap256", () =>
            {
                pt.SetupBatch();
                return Measure(20_000, () => { }, () =>
                {
                    for (int i = 0; i < 20_000; i++)
                    {
                        pt.MapUnmap256x4K();
                    }
                });
            }),
        };

        foreach ((string name, Func<(double Ns, double Bytes)> once) in rows)
        {
            var ns = new double[rounds];
            double bytes = 0;
            for (int r = 0; r < rounds; r++)
            {
                (ns[r], bytes) = once();
            }

            Array.Sort(ns);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-12} {ns[0],10:F2} ns/op min {ns[rounds / 2],10:F2} median (CPU time)  {bytes,8:F2} B/op"));
        }
    }

    /// <summary>The container rows of issue 6 only (RangeMap lookup, allocation, reverse lookup, type1 round trip).</summary>
    public static void RunContainers()
    {
        var rm = new RangeMapBenchmarks();
        rm.Setup();
        var c = new ContainerBenchmarks();
        c.Setup();
        for (int round = 0; round < 3; round++)
        {
            Report("Lookup1M", RangeMapBenchmarks.Lookups, 500, () => rm.LookupAt1M());
            Report("Alloc1M", ContainerBenchmarks.Allocations, 2_000, () => c.AllocAt1M());
            Report("Reverse1M", ContainerBenchmarks.Lookups, 500, () => c.ReverseLookupAt1M());
            Report("Type1RT4K", 1, 200_000, () => c.Type1MapUnmap4K());
        }

        RunUnmapAll();
    }

    /// <summary>
    /// Type1 unmap-all of P = 1, 1024 and 65536 4K mappings, dense and spread (the mapping is setup, not timed): the
    /// median and minimum of many warm single calls on the high-resolution clock, after a warm-up pass that brings
    /// the map and unmap paths to tier-1 code. One call per measurement, as in <see cref="UnmapAllBenchmarks"/>,
    /// whose 3-iteration short job gives error bars wider than the small-P means.
    /// </summary>
    public static void RunUnmapAll()
    {
        foreach (bool measured in (bool[])[false, true])
        {
            foreach (bool spread in (bool[])[false, true])
            {
                foreach (int p in (int[])[1, 1_024, 65_536])
                {
                    var u = new UnmapAllBenchmarks { P = p, Spread = spread };
                    int calls = measured ? Math.Max(9, 2_000_000 / (p + 200)) : Math.Max(2, 200_000 / (p + 200));
                    var times = new double[calls];
                    long allocated = 0;
                    for (int i = 0; i < calls; i++)
                    {
                        u.Setup();
                        if (p >= 1_024)
                        {
                            ForceFullGc(); // as BenchmarkDotNet does before each iteration: the setup's garbage is not collected on our time
                        }

                        long before = GC.GetAllocatedBytesForCurrentThread();
                        long start = Stopwatch.GetTimestamp();
                        u.UnmapAll();
                        times[i] = (Stopwatch.GetTimestamp() - start) * 1e9 / Stopwatch.Frequency; // raw ticks: a TimeSpan would round to 100 ns
                        allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                    }

                    if (measured)
                    {
                        Array.Sort(times);
                        double median = times[calls / 2];
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"UnmapAll P={p,-6} {(spread ? "spread" : "dense"),-6} median {median,12:F0} ns  min {times[0],12:F0} ns  {median / p,8:F1} ns/mapping  target {(50.0 * p) + 1000,10:F0} ns  {(double)allocated / calls / p,6:F2} B/mapping ({calls} calls)"));
                    }
                }
            }
        }
    }

    // Process CPU time (all threads: the GC's included) of one body() after a warm-up; ns per op and bytes allocated
    // per op. The clock is clock_gettime(CLOCK_PROCESS_CPUTIME_ID): Process.TotalProcessorTime reads /proc in clock
    // ticks (10 ms here), which on a 20 ms body was ±10 ns per operation of the 1M-page rows.
    private static (double Ns, double Bytes) Measure(int ops, Action setup, Action body)
    {
        setup();
        body(); // warm up
        setup();
        ForceFullGc(); // as BenchmarkDotNet does between iterations: earlier rounds' garbage is not collected on our time
        long start = ProcessCpuNs();
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        body();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        return ((double)(ProcessCpuNs() - start) / ops, (double)allocated / ops);
    }

    internal static void ForceFullGc()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    // Thread CPU time of `calls` bodies of `ops` operations each, each after an untimed setup(), less the clock's own
    // cost (the cheapest of many empty reads); ns per op and bytes allocated per op by the bodies.
    internal static (double Ns, double Bytes) MeasureEach(int ops, int calls, Action setup, Action body)
    {
        setup();
        body(); // warm up
        double clock = double.MaxValue;
        for (int i = 0; i < 100; i++)
        {
            long a = ThreadCpuNs();
            clock = Math.Min(clock, ThreadCpuNs() - a);
        }

        double total = 0;
        long allocated = 0;
        for (int i = 0; i < calls; i++)
        {
            setup();
            long bytes = GC.GetAllocatedBytesForCurrentThread();
            long start = ThreadCpuNs();
            body();
            total += ThreadCpuNs() - start - clock;
            allocated += GC.GetAllocatedBytesForCurrentThread() - bytes;
        }

        return (total / ((double)calls * ops), (double)allocated / ((double)calls * ops));
    }

    /// <summary>The process's CPU time, all threads (CLOCK_PROCESS_CPUTIME_ID, Linux), in ns; only differences mean anything.</summary>
    internal static long ProcessCpuNs() => CpuNs(CpuClock.Process);

    // The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID, Linux), in nanoseconds.
    private static long ThreadCpuNs() => CpuNs(CpuClock.Thread);

    private static long CpuNs(int clockId) =>
        CpuClock.TryNowNs(clockId, out long ns) ? ns : throw new InvalidOperationException($"clock_gettime({clockId}) failed: the page-table rows need Linux");

    private static void Report(string name, int opsPerCall, int calls, Func<object> body)
    {
        ulong sink = 0;
        for (int i = 0; i < calls / 10; i++)
        {
            sink += (ulong)body().GetHashCode(); // warm up and tier up
        }

        var process = Process.GetCurrentProcess();
        process.Refresh();
        TimeSpan start = process.TotalProcessorTime;
        for (int i = 0; i < calls; i++)
        {
            sink += (ulong)body().GetHashCode();
        }

        process.Refresh();
        double ns = (process.TotalProcessorTime - start).TotalNanoseconds / ((double)calls * opsPerCall);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12} {ns,10:F2} ns/op (CPU time)  [{sink & 1}]"));
    }
}
