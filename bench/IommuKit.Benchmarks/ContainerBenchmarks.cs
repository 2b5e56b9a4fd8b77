using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Benchmarks;

/// <summary>
/// Container-level operations at 1M mappings (issue 6): iommufd automatic IOVA allocation (first fit through the
/// areas' gap index), reverse lookup vaddr to IOVA in a type1 container, and the type1 map+unmap round trip of one 4K
/// page into an attached IOMMU domain (pin, map, unmap, flush, unpin).
/// </summary>
[MemoryDiagnoser]
public class ContainerBenchmarks
{
    /// <summary>Mappings in the IOAS and in the type1 container.</summary>
    public const int Records = 1 << 20;

    /// <summary>Operations per invocation of the lookup benchmarks.</summary>
    public const int Lookups = 4096;

    /// <summary>Operations per invocation of the allocation benchmark.</summary>
    public const int Allocations = 256;

    private const ulong P = PageSizes.Size4K;
    private const ulong UserBase = 0x7f00_0000_0000;

    private readonly ulong[] _probes = new ulong[Lookups];
    private Ioas _ioas = null!;
    private VfioContainer _type1 = null!;
    private VfioContainer _roundTrip = null!;

    /// <summary>Builds the 1M-area IOAS, the 1M-record container and the round-trip container; checks each.</summary>
    [GlobalSetup]
    public void Setup()
    {
        // 1M 4K areas on every other page from PAGE_SIZE: every hole is 4K, so an 8K allocation (8K aligned) fits only
        // after the last area. A walk visits all 1M areas; the gap index skips them.
        _ioas = new Iommufd.Iommufd().CreateIoas();
        for (int i = 0; i < Records; i++)
        {
            _ioas.Map(IovaRange.FromStartSize(P + ((ulong)i * 2 * P), P), UserBase + ((ulong)i * P), Permissions.ReadWrite);
        }

        TranslateBenchmarks.Require(_ioas.AllocIova(0, 2 * P, out ulong iova) == Errno.Ok && iova == (ulong)Records * 2 * P,
            "the 8K allocation must land after the last area");

        // 1M type1 records (no domain: records only), vaddrs contiguous, IOVAs every other page.
        _type1 = new VfioContainer(new HostMemory(new PhysicalMemory()), dmaEntryLimit: Records + 1);
        TranslateBenchmarks.Require(_type1.SetIommu(VfioIommuType.Type1v2) == Errno.Ok, "type1v2");
        for (int i = 0; i < Records; i++)
        {
            var map = new VfioDmaMap((ulong)i * 2 * P, P, UserBase + ((ulong)i * P), VfioDmaMapFlags.Read | VfioDmaMapFlags.Write);
            TranslateBenchmarks.Require(_type1.MapDma(map) == Errno.Ok, "type1 map");
        }

        var rng = new Random(11);
        for (int k = 0; k < Lookups; k++)
        {
            _probes[k] = UserBase + ((ulong)rng.Next(Records) * P) + 0x80;
        }

        TranslateBenchmarks.Require(_type1.TryFindIova(UserBase + (5 * P) + 1, out ulong back) && back == (10 * P) + 1, "reverse lookup");

        // Round trip: a type1v2 container with one IOMMU domain attached.
        var host = new HostMemory(new PhysicalMemory());
        _roundTrip = new VfioContainer(host);
        TranslateBenchmarks.Require(_roundTrip.SetIommu(VfioIommuType.Type1v2) == Errno.Ok, "type1v2");
        TranslateBenchmarks.Require(_roundTrip.AttachDomain(new IommuDomain(new FrameAllocator(host.Physical))) == Errno.Ok, "attach");
        Type1MapUnmap4K();
        TranslateBenchmarks.Require(_roundTrip.MappingCount == 0, "the round trip must leave no mapping");
    }

    /// <summary>One automatic IOVA allocation (IOMMU_IOAS_MAP without FIXED_IOVA, the search only) at 1M areas.</summary>
    [Benchmark(OperationsPerInvoke = Allocations)]
    public ulong AllocAt1M()
    {
        ulong sum = 0;
        for (int i = 0; i < Allocations; i++)
        {
            _ioas.AllocIova(0, 2 * P, out ulong iova);
            sum += iova;
        }

        return sum;
    }

    /// <summary>One reverse lookup vaddr to IOVA among 1M type1 records, random order.</summary>
    [Benchmark(OperationsPerInvoke = Lookups)]
    public ulong ReverseLookupAt1M()
    {
        ulong sum = 0;
        foreach (ulong va in _probes)
        {
            if (_type1.TryFindIova(va, out ulong iova))
            {
                sum += iova;
            }
        }

        return sum;
    }

    /// <summary>VFIO_IOMMU_MAP_DMA then VFIO_IOMMU_UNMAP_DMA of one 4K page, with an IOMMU domain attached.</summary>
    [Benchmark]
    public ulong Type1MapUnmap4K()
    {
        var map = new VfioDmaMap(0x1_0000_0000, P, 0x1000_0000, VfioDmaMapFlags.Read | VfioDmaMapFlags.Write);
        _roundTrip.MapDma(map);
        var unmap = new VfioDmaUnmap(0x1_0000_0000, P);
        _roundTrip.UnmapDma(ref unmap);
        return unmap.Size;
    }
}
