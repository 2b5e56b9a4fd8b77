using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// Translate throughput through one shared domain (IOTLB hits) with 1 and 2 DMA threads: the cost of the domain lock
/// (docs/robustness.md). Each operation is <see cref="TranslationsPerThread"/> translations per thread.
/// </summary>
[MemoryDiagnoser]
public class ConcurrentTranslateBenchmarks
{
    /// <summary>Translations each thread does per benchmark operation.</summary>
    public const int TranslationsPerThread = 100_000;

    private IommuDomain _domain = null!;

    /// <summary>DMA threads translating concurrently.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>A domain with 64 mapped 4K pages, all resident in the IOTLB.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        _domain.Map(IovaRange.FromStartSize(0, 64 * PageSizes.Size4K), 0x10_0000_0000, Permissions.ReadWrite);
        for (ulong p = 0; p < 64; p++)
        {
            _domain.Translate(p * PageSizes.Size4K, DmaAccess.Read);
        }
    }

    /// <summary>Every thread translates <see cref="TranslationsPerThread"/> IOTLB-resident addresses.</summary>
    [Benchmark(OperationsPerInvoke = TranslationsPerThread)]
    public ulong Translate()
    {
        if (Threads == 1)
        {
            return Run(_domain);
        }

        ulong other = 0;
        var thread = new Thread(() => other = Run(_domain));
        thread.Start();
        ulong mine = Run(_domain);
        thread.Join();
        return mine ^ other;
    }

    private static ulong Run(IommuDomain domain)
    {
        ulong sum = 0;
        for (int i = 0; i < TranslationsPerThread; i++)
        {
            sum += domain.Translate((ulong)(i & 63) * PageSizes.Size4K, DmaAccess.Read).Pa;
        }

        return sum;
    }
}
