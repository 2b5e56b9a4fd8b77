using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;

namespace IommuKit.Benchmarks;

/// <summary>
/// The container record store: <see cref="RangeMap{T}.TryFind"/> at 1M records (one 4K record every other page),
/// at addresses in a fixed shuffled order, the workload of QEMU's iova-tree lookup (GTree) figure.
/// </summary>
[MemoryDiagnoser]
public class RangeMapBenchmarks
{
    /// <summary>Records in the map.</summary>
    public const int Records = 1 << 20;

    /// <summary>Lookups per invocation.</summary>
    public const int Lookups = 4096;

    private readonly RangeMap<int> _map = new();
    private readonly ulong[] _probes = new ulong[Lookups];

    /// <summary>Fills the map and the probe addresses.</summary>
    [GlobalSetup]
    public void Setup()
    {
        for (int i = 0; i < Records; i++)
        {
            _map.Add(IovaRange.FromStartSize((ulong)i << 13, 0x1000), i);
        }

        var rng = new Random(7);
        for (int k = 0; k < Lookups; k++)
        {
            _probes[k] = ((ulong)rng.Next(Records) << 13) + 0x10;
        }

        TranslateBenchmarks.Require(_map.Count == Records, "the map must hold 1M records");
    }

    /// <summary>One lookup of a mapped address.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public int LookupAt1M()
    {
        int sum = 0;
        foreach (ulong a in _probes)
        {
            if (_map.TryFind(a, out RangeMapEntry<int> e))
            {
                sum += e.Value;
            }
        }

        return sum;
    }
}
