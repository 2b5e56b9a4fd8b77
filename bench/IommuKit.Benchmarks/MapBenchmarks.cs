using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// Mapping work: 1M sequential 4K pages mapped (or unmapped) one call each, reported per page; and a 1 GiB-aligned
/// 1 GiB range, which must be one leaf, mapped and unmapped.
/// </summary>
[MemoryDiagnoser]
public class MapBenchmarks
{
    private const int Pages = 1 << 20;
    private const ulong Base = 0x10_0000_0000; // 64 GiB
    private const ulong Pa = 0x40_0000_0000;

    private IommuDomain _domain = null!;
    private IommuDomain _hugeDomain = null!;

    [GlobalSetup(Target = nameof(MapAndUnmap1GiBLeaf))]
    public void SetupHuge()
    {
        _hugeDomain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));
        IovaRange range = IovaRange.FromStartSize(PageSizes.Size1G * 3, PageSizes.Size1G);
        _hugeDomain.Map(range, Pa, Permissions.ReadWrite);
        List<PageTableLeaf> leaves = _hugeDomain.PageTable.Leaves(IovaRange.Full);
        TranslateBenchmarks.Require(leaves.Count == 1 && leaves[0].LeafSize == PageSizes.Size1G, "a 1 GiB aligned range must be one 1G leaf");
        _hugeDomain.UnmapAndFlush(range);
    }

    [IterationSetup(Target = nameof(Map4KPages))]
    public void SetupMap() => _domain = new IommuDomain(new FrameAllocator(new PhysicalMemory()));

    [IterationSetup(Target = nameof(Unmap4KPages))]
    public void SetupUnmap()
    {
        SetupMap();
        Map4KPages();
    }

    /// <summary>Maps 1M 4K pages, one call per page, ascending.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public void Map4KPages()
    {
        IommuDomain d = _domain;
        for (ulong i = 0; i < Pages; i++)
        {
            d.Map(IovaRange.FromStartSize(Base + (i << 12), PageSizes.Size4K), Pa + (i << 12), Permissions.ReadWrite);
        }
    }

    /// <summary>Unmaps 1M 4K pages, one call per page, ascending (tables freed as they empty).</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public void Unmap4KPages()
    {
        IommuDomain d = _domain;
        for (ulong i = 0; i < Pages; i++)
        {
            d.Unmap(IovaRange.FromStartSize(Base + (i << 12), PageSizes.Size4K));
        }
    }

    /// <summary>Maps a 1 GiB-aligned 1 GiB range (one 1G leaf) and unmaps it with a flush.</summary>
    [Benchmark]
    public void MapAndUnmap1GiBLeaf()
    {
        IovaRange range = IovaRange.FromStartSize(PageSizes.Size1G * 3, PageSizes.Size1G);
        _hugeDomain.Map(range, Pa, Permissions.ReadWrite);
        _hugeDomain.UnmapAndFlush(range);
    }
}
