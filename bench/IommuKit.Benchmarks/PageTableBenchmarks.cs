using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// The bare page-table engine (<see cref="IoPageTable"/>, x86 second level, 4 levels), the same work io-pgtable-arm's
/// <c>map_pages</c>/<c>unmap_pages</c> do: 1M 4K pages mapped one call each in ascending or shuffled order, unmapped
/// ascending, and 256 × 4K mapped and unmapped in one call.
/// </summary>
[MemoryDiagnoser]
public class PageTableBenchmarks
{
    /// <summary>Pages in the 1M-page workloads.</summary>
    public const int Pages = 1 << 20;

    /// <summary>Pages translated per walk-benchmark invocation (two leaf tables: stays in cache).</summary>
    public const int WalkPages = 1024;

    /// <summary>Pages in one batch call.</summary>
    public const int BatchPages = 256;

    private const ulong Base = 0x10_0000_0000; // 64 GiB
    private const ulong Pa = 0x40_0000_0000;

    private readonly ulong[] _shuffled = Shuffled(Pages, 42);
    private IoPageTable _table = null!;

    /// <summary>A fresh table.</summary>
    [IterationSetup(Targets = [nameof(Map4KSequential), nameof(Map4KRandom)])]
    public void SetupEmpty() => _table = NewTable();

    /// <summary>A table holding the 1M pages.</summary>
    [IterationSetup(Target = nameof(Unmap4KSequential))]
    public void SetupFull()
    {
        SetupEmpty();
        Map4KSequential();
    }

    /// <summary>A table for the batch benchmarks.</summary>
    [GlobalSetup(Targets = [nameof(MapUnmap256x4K)])]
    public void SetupBatch()
    {
        _table = NewTable();
        MapUnmap256x4K();
        TranslateBenchmarks.Require(_table.TablePages == 1, "a batch unmap must free its tables");
    }

    /// <summary>A table holding <see cref="WalkPages"/> 4K pages for the walk benchmark.</summary>
    [GlobalSetup(Target = nameof(Walk4K))]
    public void SetupWalk()
    {
        _table = NewTable();
        _table.Map(IovaRange.FromStartSize(Base, WalkPages * PageSizes.Size4K), Pa, Permissions.ReadWrite);
        TranslateBenchmarks.Require(_table.Translate(Base + PageSizes.Size4K).Pa == Pa + PageSizes.Size4K, "the walk table must map its pages");
    }

    /// <summary>
    /// Translates <see cref="WalkPages"/> 4K pages in turn by a full 4-level walk each (<see cref="IoPageTable.Translate"/>,
    /// tables in cache): the work of io-pgtable-arm's <c>iova_to_phys</c>.
    /// </summary>
    [Benchmark(OperationsPerInvoke = WalkPages)]
    public ulong Walk4K()
    {
        IoPageTable t = _table;
        ulong sum = 0;
        for (ulong i = 0; i < WalkPages; i++)
        {
            sum += t.Translate(Base + (i << 12)).Pa;
        }

        return sum;
    }

    /// <summary>Maps 1M 4K pages, one call per page, ascending.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public void Map4KSequential()
    {
        IoPageTable t = _table;
        for (ulong i = 0; i < Pages; i++)
        {
            t.TryMap(IovaRange.FromFirstLast(Base + (i << 12), Base + (i << 12) + 0xfff), Pa + (i << 12), Permissions.ReadWrite);
        }
    }

    /// <summary>Maps the same 1M 4K pages in a fixed shuffled order.</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public void Map4KRandom()
    {
        IoPageTable t = _table;
        ulong[] order = _shuffled;
        for (int k = 0; k < order.Length; k++)
        {
            ulong i = order[k];
            t.TryMap(IovaRange.FromFirstLast(Base + (i << 12), Base + (i << 12) + 0xfff), Pa + (i << 12), Permissions.ReadWrite);
        }
    }

    /// <summary>Unmaps 1M 4K pages, one call per page, ascending (tables freed as they empty).</summary>
    [Benchmark(OperationsPerInvoke = Pages)]
    public void Unmap4KSequential()
    {
        IoPageTable t = _table;
        for (ulong i = 0; i < Pages; i++)
        {
            t.Unmap(IovaRange.FromFirstLast(Base + (i << 12), Base + (i << 12) + 0xfff));
        }
    }

    /// <summary>One call mapping 256 × 4K (1 MiB, 4K leaves only) then one call unmapping them.</summary>
    [Benchmark]
    public void MapUnmap256x4K()
    {
        IovaRange r = IovaRange.FromStartSize(Base, BatchPages * PageSizes.Size4K);
        _table.TryMap(r, Pa, Permissions.ReadWrite);
        _table.Unmap(r);
    }

    internal static IoPageTable NewTable() =>
        IoPageTable.Create(PageTableFormat.X86SecondLevel4Level, new FrameAllocator(new PhysicalMemory()), PageSizes.Only4K);

    internal static ulong[] Shuffled(int n, int seed)
    {
        var order = new ulong[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = (ulong)i;
        }

        new Random(seed).Shuffle(order);
        return order;
    }
}
