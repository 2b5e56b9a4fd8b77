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
    public static void Run()
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
