using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.Vfio;

namespace IommuKit.Benchmarks;

/// <content>The container rows of the peer comparison (issue 6).</content>
internal static partial class PeerCheck
{
    /// <summary>
    /// Reverse lookup (host address to IOVA) at 1M type1 records, the GTree harness's layout: dense 4K records at IOVA
    /// <c>i &lt;&lt; 12</c> backed by host addresses <c>2^42 + (i &lt;&lt; 12)</c>, random probes inside a page
    /// (<see cref="VfioContainer.TryFindIova"/>; the C side walks the tree in order).
    /// </summary>
    public static void RunReverseLookup()
    {
        const int records = RangeMapBenchmarks.Records;
        const ulong hostBase = 1UL << 42;
        var container = new VfioContainer(new HostMemory(new PhysicalMemory()), dmaEntryLimit: records);
        TranslateBenchmarks.Require(container.SetIommu(VfioIommuType.Type1v2) == Errno.Ok, "type1v2");
        for (int i = 0; i < records; i++)
        {
            var map = new VfioDmaMap((ulong)i << 12, 0x1000, hostBase + ((ulong)i << 12), VfioDmaMapFlags.Read | VfioDmaMapFlags.Write);
            TranslateBenchmarks.Require(container.MapDma(map) == Errno.Ok, "type1 map");
        }

        var rng = new Random(7);
        ulong[] probes = new ulong[RangeMapBenchmarks.Lookups];
        for (int k = 0; k < probes.Length; k++)
        {
            probes[k] = hostBase + ((ulong)rng.Next(records) << 12) + 8;
        }

        ulong sink = 0;
        Best("gtree_reverse", probes.Length * 200, () => { }, () =>
        {
            for (int r = 0; r < 200; r++)
            {
                foreach (ulong va in probes)
                {
                    if (!container.TryFindIova(va, out ulong iova) || iova != va - hostBase)
                    {
                        throw new InvalidOperationException("reverse lookup must find the record's IOVA");
                    }

                    sink += iova;
                }
            }
        });
        GC.KeepAlive(sink);
    }
}
