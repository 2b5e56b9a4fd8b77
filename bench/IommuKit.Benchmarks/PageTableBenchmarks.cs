using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>
/// The bare page-table engine (<see cref="IoPageTable"/>, x86 second level, 4 levels), the same work io-pgtable-arm's
/// <c>map_pages</c>/<c>unmap_pages</c> do: 1M 4K pages mapped one call each in ascending or shuffled order, unmapped
/// ascending, and 256 × 4K mapped in one call and unmapped in one call (each measured alone, and the pair together).
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

    /// <summary>
    /// 256 × 4K batches per invocation of <see cref="Map256x4K"/> / <see cref="Unmap256x4K"/>: one per 2 MiB region, so
    /// each batch fills half of its own leaf table (created by the map, freed by the unmap). 64 leaf tables stay within
    /// the allocator's retained free frames, so neither side allocates, and within the L2 cache (256 KiB).
    /// </summary>
    public const int BatchRegions = 64;

    private const ulong Base = 0x10_0000_0000; // 64 GiB
    private const ulong Pa = 0x40_0000_0000;
    private const ulong RegionStride = PageSizes.Size2M;

    // One page kept mapped past the batch regions, in the same level-2 table: the level-2 and level-3 tables stay, so
    // a batch map creates (and its unmap frees) exactly its leaf table, as in MapUnmap256x4K's steady state.
    private const ulong Anchor = Base + (BatchRegions * RegionStride);

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

    /// <summary>A table for the separate batch benchmarks: only the anchor page mapped.</summary>
    [GlobalSetup(Targets = [nameof(Map256x4K), nameof(Unmap256x4K)])]
    public void SetupBatchRegions()
    {
        _table = NewTable();
        _table.Map(IovaRange.FromStartSize(Anchor, PageSizes.Size4K), Pa, Permissions.ReadWrite);
        MapBatchRegions();
        TranslateBenchmarks.Require(_table.TablePages == 4 + BatchRegions, "every batch region must map into its own leaf table");
        UnmapBatchRegions();
        TranslateBenchmarks.Require(_table.TablePages == 4, "only the anchor's tables must stay after the batch unmaps");

        // Each iteration is one invocation (the other half runs in the iteration setup), so BenchmarkDotNet's warm-up
        // alone calls the engine too few times to reach tier-1 code: warm it here, with a pause for the background
        // compiles, as a long benchmark's own warm-up would.
        for (int round = 0; round < 2; round++)
        {
            for (int i = 0; i < 3_000; i++)
            {
                MapBatchRegions();
                UnmapBatchRegions();
            }

            Thread.Sleep(250);
        }
    }

    /// <summary>Before each <see cref="Map256x4K"/> iteration: the batch regions unmapped (their leaf tables freed).</summary>
    [IterationSetup(Target = nameof(Map256x4K))]
    public void UnmapBatchRegions()
    {
        for (int k = 0; k < BatchRegions; k++)
        {
            _table.Unmap(BatchRange(k));
        }
    }

    /// <summary>Before each <see cref="Unmap256x4K"/> iteration: every batch region mapped.</summary>
    [IterationSetup(Target = nameof(Unmap256x4K))]
    public void MapBatchRegions()
    {
        for (int k = 0; k < BatchRegions; k++)
        {
            _table.TryMap(BatchRange(k), Pa, Permissions.ReadWrite);
        }
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

    /// <summary>
    /// One <see cref="IoPageTable.TryMap"/> of 256 × 4K per call, into <see cref="BatchRegions"/> empty 2 MiB regions
    /// (each creates its leaf table): io-pgtable's <c>map_pages</c> with pgcount 256.
    /// </summary>
    [Benchmark(OperationsPerInvoke = BatchRegions)]
    public void Map256x4K()
    {
        IoPageTable t = _table;
        for (int k = 0; k < BatchRegions; k++)
        {
            t.TryMap(BatchRange(k), Pa, Permissions.ReadWrite);
        }
    }

    /// <summary>
    /// One <see cref="IoPageTable.Unmap"/> of 256 × 4K per call, from <see cref="BatchRegions"/> mapped regions (each
    /// frees its leaf table): io-pgtable's <c>unmap_pages</c> with pgcount 256.
    /// </summary>
    [Benchmark(OperationsPerInvoke = BatchRegions)]
    public void Unmap256x4K()
    {
        IoPageTable t = _table;
        for (int k = 0; k < BatchRegions; k++)
        {
            t.Unmap(BatchRange(k));
        }
    }

    // Region k: 256 pages at the start of the k-th 2 MiB region from Base (k < 64: far below 2^48).
    private static IovaRange BatchRange(int k) => IovaRange.FromStartSize(Base + ((ulong)k * RegionStride), BatchPages * PageSizes.Size4K);

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
