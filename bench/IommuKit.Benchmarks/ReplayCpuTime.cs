using System.Diagnostics;
using System.Globalization;

namespace IommuKit.Benchmarks;

/// <summary>
/// The replay row of issue 6 for <c>-- --cpu-time replay</c>: process CPU time per replay (so time spent descheduled
/// on a shared machine is not counted) and bytes allocated, for each N of <see cref="ReplayBenchmarks"/>.
/// Kept apart from <see cref="CpuTimeCheck"/> so the rows merge independently.
/// </summary>
internal static class ReplayCpuTime
{
    /// <summary>The replay row of issue 6: one VT-d replay of N guest mappings, per replay and per mapping, with bytes allocated.</summary>
    public static void Run()
    {
        foreach (int n in (int[])[1, 1_000, 100_000])
        {
            var r = new ReplayBenchmarks { N = n };
            r.Setup();
            int calls = 300_000_000 / ((40 * n) + 1000); // about 0.3 s a round at 40 ns a mapping + 1 us: far above the CPU clock tick
            for (int round = 0; round < 3; round++)
            {
                for (int i = 0; i < Math.Max(1, calls / 10); i++)
                {
                    r.Replay(); // warm up and tier up
                }

                var process = Process.GetCurrentProcess();
                process.Refresh();
                TimeSpan start = process.TotalProcessorTime;
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < calls; i++)
                {
                    r.Replay();
                }

                allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                process.Refresh();
                double ns = (process.TotalProcessorTime - start).TotalNanoseconds / calls;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Replay N={n,-7} {ns / 1000,10:F2} us/replay {ns / n,8:F1} ns/mapping (CPU time)  {(double)allocated / calls,10:F0} B/replay"));
            }
        }
    }
}
