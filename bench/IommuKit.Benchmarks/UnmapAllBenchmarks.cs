using BenchmarkDotNet.Attributes;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Benchmarks;

/// <summary>
/// Unmap-all of the full 2^64 space in a type1 container holding P 4K mappings, with an IOMMU domain attached (issue 6
/// row: at most 50 ns x P + 1 us, flat in the span). <see cref="Spread"/>: the mappings are spread over the domain's
/// 48-bit aperture (each has level-1 and level-2 tables of its own: the worst case for the page table), or dense
/// (abutting from 4 GiB: 512 to a leaf table).
/// </summary>
[MemoryDiagnoser]
public class UnmapAllBenchmarks
{
    private VfioContainer _container = null!;

    /// <summary>Mappings present before the unmap-all.</summary>
    [Params(1, 1_024, 65_536)]
    public int P { get; set; }

    /// <summary>True: spread over the aperture; false: abutting.</summary>
    [Params(true, false)]
    public bool Spread { get; set; }

    /// <summary>
    /// Warms the map and unmap-all paths to tier-1 code: each iteration is one invocation, so BenchmarkDotNet's own
    /// warm-up runs them too few times for the JIT's tiering (P = 1 would be timed in tier-0 code).
    /// </summary>
    [GlobalSetup]
    public void WarmUp()
    {
        int rounds = Math.Max(2, 20_000 / P);
        for (int pass = 0; pass < 2; pass++)
        {
            for (int i = 0; i < rounds; i++)
            {
                Setup();
                UnmapAll();
            }

            Thread.Sleep(250);
        }
    }

    /// <summary>Maps the P pages (a fresh container each iteration: the benchmark empties it).</summary>
    [IterationSetup]
    public void Setup()
    {
        var host = new HostMemory(new PhysicalMemory());
        _container = new VfioContainer(host, dmaEntryLimit: (uint)P + 1);
        TranslateBenchmarks.Require(_container.SetIommu(VfioIommuType.Type1v2) == Errno.Ok, "type1v2");
        TranslateBenchmarks.Require(_container.AttachDomain(new IommuDomain(new FrameAllocator(host.Physical))) == Errno.Ok, "attach");
        ulong stride = Spread ? ((1UL << 47) / (ulong)P) & ~(PageSizes.Size4K - 1) : PageSizes.Size4K; // spread over the lower half of the aperture, or abutting
        ulong first = Spread ? 0UL : 0x1_0000_0000UL;
        for (int i = 0; i < P; i++)
        {
            var map = new VfioDmaMap(first + ((ulong)i * stride), PageSizes.Size4K, 0x1000_0000 + ((ulong)i << 12), VfioDmaMapFlags.Read | VfioDmaMapFlags.Write);
            TranslateBenchmarks.Require(_container.MapDma(map) == Errno.Ok, "map");
        }
    }

    /// <summary>One VFIO_IOMMU_UNMAP_DMA with VFIO_DMA_UNMAP_FLAG_ALL.</summary>
    [Benchmark]
    public ulong UnmapAll()
    {
        var unmap = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        _container.UnmapDma(ref unmap, out UInt128 bytes);
        TranslateBenchmarks.Require(bytes == (UInt128)P * PageSizes.Size4K, "every page unmapped");
        return unmap.Size;
    }
}
