using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// VT-d replay (<c>vtd_iommu_replay</c>) of N guest 4 KiB mappings scattered over the 48-bit space to one MAP|UNMAP
/// notifier: the cost follows the guest tables that exist (PTE reads are reported per run), never the 2^48 space.
/// Mappings come in clusters of 64 (one level-1 table each), clusters spread evenly over the space.
/// </summary>
[MemoryDiagnoser]
public class ReplayBenchmarks
{
    private const int ClusterSize = 64;
    private GuestSetup _guest = null!;
    private IommuNotifier _notifier = null!;
    private long _events;

    /// <summary>Guest mappings.</summary>
    [Params(1, 1_000, 100_000)]
    public int N { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _guest = new GuestSetup(48);
        int clusters = (N + ClusterSize - 1) / ClusterSize;
        ulong stride = ((1UL << 48) / (ulong)clusters) & ~((1UL << 21) - 1); // 2 MiB aligned cluster starts
        for (int i = 0; i < N; i++)
        {
            ulong iova = ((ulong)(i / ClusterSize) * stride) + ((ulong)(i % ClusterSize) << 15);
            _guest.Domain.Table.Map(IovaRange.FromStartSize(iova, 0x1000), (ulong)(i % 4096) << 12, Permissions.ReadWrite);
        }

        _notifier = new IommuNotifier(IommuNotifierFlags.IotlbEvents, 0, ulong.MaxValue, (_, _) => _events++);
        TranslateBenchmarks.Require(_guest.Device.RegisterNotifier(_notifier).IsOk, "notifier registration");
        _guest.Unit.ResetCounters();
        _guest.Device.Replay(_notifier);
        TranslateBenchmarks.Require(_events == N + 1, $"replay must send 1 UNMAP + {N} MAPs, sent {_events}");
        Console.WriteLine($"// N={N}: {_guest.Unit.PteReads} PTE reads per replay");
    }

    /// <summary>One replay: unmap the range, walk the guest tables, send N MAPs.</summary>
    [Benchmark]
    public long Replay()
    {
        _guest.Device.Replay(_notifier);
        return _events;
    }
}
