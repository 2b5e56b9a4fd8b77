using System.Diagnostics;
using System.Globalization;

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

    private static void RunPageTable()
    {
        var pt = new PageTableBenchmarks();
        for (int round = 0; round < 2; round++)
        {
            pt.SetupWalk();
            Measure("Walk4K", PageTableBenchmarks.WalkPages * 20_000, () => { }, () =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    pt.Walk4K();
                }
            });
            Measure("Map4KSeq", PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KSequential);
            Measure("Map4KRandom", PageTableBenchmarks.Pages, pt.SetupEmpty, pt.Map4KRandom);
            Measure("Unmap4KSeq", PageTableBenchmarks.Pages, pt.SetupFull, pt.Unmap4KSequential);
            pt.SetupBatch();
            Measure("MapUnmap256", 20_000, () => { }, () =>
            {
                for (int i = 0; i < 20_000; i++)
                {
                    pt.MapUnmap256x4K();
                }
            });
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
    }

    private static void Measure(string name, int ops, Action setup, Action body)
    {
        setup();
        body(); // warm up
        setup();
        var process = Process.GetCurrentProcess();
        process.Refresh();
        TimeSpan start = process.TotalProcessorTime;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        body();
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        process.Refresh();
        double ns = (process.TotalProcessorTime - start).TotalNanoseconds / ops;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-12} {ns,10:F2} ns/op (CPU time)  {(double)allocated / ops,8:F2} B/op"));
    }

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
