using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>Visiting <see cref="IovaRange.Full"/> with a struct visitor: over 1M scattered 4K leaves, and over an empty table.</summary>
[MemoryDiagnoser]
public class VisitBenchmarks
{
    private const int Pages = 1 << 20;
    private const ulong Stride = 3 * PageSizes.Size4K; // every third page: no two leaves adjacent, 12 GiB spanned

    private IoPageTable _full = null!;
    private IoPageTable _empty = null!;

    [GlobalSetup]
    public void Setup()
    {
        _empty = new IommuDomain(new FrameAllocator(new PhysicalMemory())).PageTable;
        var d = new IommuDomain(new FrameAllocator(new PhysicalMemory()), new IommuDomainOptions { PageSizes = PageSizes.Only4K });
        for (ulong i = 0; i < Pages; i++)
        {
            d.Map(IovaRange.FromStartSize(i * Stride, PageSizes.Size4K), 0x40_0000_0000 + (i << 12), Permissions.ReadWrite);
        }

        _full = d.PageTable;
        TranslateBenchmarks.Require(VisitScattered() == Pages, "the scattered table must hold 1M leaves");
        TranslateBenchmarks.Require(VisitEmpty() == 0, "the empty table must hold no leaf");
    }

    /// <summary>Visits the whole 2^64 space of a table holding 1M scattered 4K leaves.</summary>
    [Benchmark]
    public long VisitScattered()
    {
        var counter = new LeafCounter();
        _full.Visit(IovaRange.Full, ref counter);
        return counter.Leaves;
    }

    /// <summary>Visits the whole 2^64 space of an empty table.</summary>
    [Benchmark]
    public long VisitEmpty()
    {
        var counter = new LeafCounter();
        _empty.Visit(IovaRange.Full, ref counter);
        return counter.Leaves;
    }

    private struct LeafCounter : IPageTableVisitor
    {
        public long Leaves;

        public void VisitTable(ulong tablePa, int level, ulong iovaBase)
        {
        }

        public void VisitLeaf(in PageTableLeaf leaf) => Leaves++;
    }
}
