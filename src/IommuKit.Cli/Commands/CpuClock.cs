using System.Runtime.InteropServices;

namespace IommuKit.Cli.Commands;

/// <summary>
/// Linux CPU-time clocks (<c>clock_gettime</c>) in nanoseconds, for timing on a shared machine where wall time counts
/// time spent descheduled. Compiled into the CLI (<c>iommukit bench</c>) and, as a linked source file, into the
/// benchmark project's CPU-time modes.
/// </summary>
internal static class CpuClock
{
    /// <summary><c>CLOCK_PROCESS_CPUTIME_ID</c>: every thread of the process, the GC's included.</summary>
    public const int Process = 2;

    /// <summary><c>CLOCK_THREAD_CPUTIME_ID</c>: the calling thread only.</summary>
    public const int Thread = 3;

    /// <summary>Reads clock <paramref name="clockId"/>; false where it does not exist (not Linux, no libc).</summary>
    public static bool TryNowNs(int clockId, out long ns)
    {
        ns = 0;
        try
        {
            if (ClockGetTime(clockId, out Timespec t) != 0)
            {
                return false;
            }

            ns = (t.Seconds * 1_000_000_000) + t.Nanoseconds; // seconds of CPU time: far from overflow
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int ClockGetTime(int clockId, out Timespec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
