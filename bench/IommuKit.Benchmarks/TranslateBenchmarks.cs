using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// DMA translation through an <see cref="IommuDomain"/> (x86 second level, 4 levels): IOTLB hits, IOTLB misses that
/// walk the 4-level table, and the bare page walk. Each benchmark does <see cref="Ops"/> translations per call.
/// </summary>
[MemoryDiagnoser]
public class TranslateBenchmarks
{
    private const int Ops = 1024;
    private const ulong Base = 0x1_0000_0000; // 4 GiB: every level of the walk has a non-zero index
    private const ulong Pa = 0x8000_0000;

    private IommuDomain _hitDomain = null!;
    private IommuDomain _missDomain = null!;

    [GlobalSetup]
    public void Setup()
    {
        // Hit: 8 distinct 4K pages, all resident in the default 512-entry IOTLB.
        _hitDomain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        _hitDomain.Map(IovaRange.FromStartSize(Base, 8 * PageSizes.Size4K), Pa, Permissions.ReadWrite);
        for (ulong i = 0; i < 8; i++)
        {
            Require(!_hitDomain.Translate(Base + (i << 12), DmaAccess.Read).FromIotlb, "first touch must miss");
        }

        // Miss: a one-entry IOTLB and 1024 pages touched in turn, so every translation walks 4 levels and refills.
        _missDomain = new IommuDomain(new FrameAllocator(new PhysicalMemory()), new IommuDomainOptions
        {
            Iotlb = new IotlbGeometry(1, 1),
            PageSizes = PageSizes.Only4K,
        });
        _missDomain.Map(IovaRange.FromStartSize(Base, Ops * PageSizes.Size4K), Pa, Permissions.ReadWrite);
        IotlbMiss();
        Require(_missDomain.Iotlb.Stats.Hits == 0 && _missDomain.Iotlb.Stats.Walks == Ops, "every miss translate must walk");
        PageTranslation t = _missDomain.PageTable.Translate(Base);
        Require(t.IsPresent && t.Level == 1, "the miss benchmark must walk to a level-1 leaf");
    }

    /// <summary>IOTLB hit: lookup, permission check, result.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public ulong IotlbHit()
    {
        IommuDomain d = _hitDomain;
        ulong sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            sum += d.Translate(Base + ((ulong)(i & 7) << 12), DmaAccess.Read).Pa;
        }

        return sum;
    }

    /// <summary>IOTLB miss: lookup, 4-level walk, fill (evicting the previous entry).</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public ulong IotlbMiss()
    {
        IommuDomain d = _missDomain;
        ulong sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            sum += d.Translate(Base + ((ulong)i << 12), DmaAccess.Read).Pa;
        }

        return sum;
    }

    /// <summary>The bare 4-level page walk (<see cref="IoPageTable.Translate"/>), no IOTLB.</summary>
    [Benchmark(OperationsPerInvoke = Ops)]
    public ulong PageWalk()
    {
        IoPageTable table = _missDomain.PageTable;
        ulong sum = 0;
        for (int i = 0; i < Ops; i++)
        {
            sum += table.Translate(Base + ((ulong)i << 12)).Pa;
        }

        return sum;
    }

    internal static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException("benchmark setup: " + what);
        }
    }
}
