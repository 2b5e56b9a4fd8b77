namespace IommuKit.Scenarios;

/// <summary>The op names of scenario steps (the contract's spellings) and the outputs each op reports.</summary>
public static class ScenarioOps
{
    /// <summary><c>map</c>: VFIO_IOMMU_MAP_DMA.</summary>
    public const string Map = "map";

    /// <summary><c>unmap</c>: VFIO_IOMMU_UNMAP_DMA; output <c>size</c>.</summary>
    public const string Unmap = "unmap";

    /// <summary><c>get-info</c>: VFIO_IOMMU_GET_INFO; outputs <c>page-sizes</c>, <c>iova-ranges</c>, <c>dma-avail</c>.</summary>
    public const string GetInfo = "get-info";

    /// <summary><c>ioas-map</c>: IOMMU_IOAS_MAP; output <c>iova</c>.</summary>
    public const string IoasMap = "ioas-map";

    /// <summary><c>ioas-unmap</c>: IOMMU_IOAS_UNMAP; output <c>length</c>.</summary>
    public const string IoasUnmap = "ioas-unmap";

    /// <summary><c>ioas-copy</c>: IOMMU_IOAS_COPY; output <c>dst-iova</c>.</summary>
    public const string IoasCopy = "ioas-copy";

    /// <summary><c>ioas-iova-ranges</c>: IOMMU_IOAS_IOVA_RANGES; outputs <c>ranges</c>, <c>alignment</c>, <c>count</c>.</summary>
    public const string IoasIovaRanges = "ioas-iova-ranges";

    /// <summary><c>ioas-allow-iovas</c>: IOMMU_IOAS_ALLOW_IOVAS.</summary>
    public const string IoasAllowIovas = "ioas-allow-iovas";

    /// <summary><c>ioas-reserve</c>: a reserved region, as a device attach would add.</summary>
    public const string IoasReserve = "ioas-reserve";

    /// <summary>
    /// <c>ioas-map-range</c> (an IommuKit addition): the IOAS's native map of the inclusive range <c>[first, last]</c>
    /// (the whole 2^64 space in one call), FIXED_IOVA rules.
    /// </summary>
    public const string IoasMapRange = "ioas-map-range";

    /// <summary><c>ioas-unmap-range</c> (an IommuKit addition): the native unmap of <c>[first, last]</c>; output <c>size</c> (up to 2^64).</summary>
    public const string IoasUnmapRange = "ioas-unmap-range";

    /// <summary><c>expect-mappings</c>: checks the container's records; output <c>mappings</c>.</summary>
    public const string ExpectMappings = "expect-mappings";

    /// <summary><c>region-add</c>: adds a memory region.</summary>
    public const string RegionAdd = "region-add";

    /// <summary><c>region-del</c>: removes a memory region.</summary>
    public const string RegionDel = "region-del";

    /// <summary><c>region-set</c>: changes a memory region's properties.</summary>
    public const string RegionSet = "region-set";

    /// <summary><c>transaction</c>: nested steps that listeners see as one begin/commit.</summary>
    public const string Transaction = "transaction";

    /// <summary><c>expect-flatview</c>: checks system memory's flat view; output <c>ranges</c>.</summary>
    public const string ExpectFlatview = "expect-flatview";

    /// <summary><c>expect-listener-calls</c>: checks the listener's container calls since the last check; output <c>calls</c>.</summary>
    public const string ExpectListenerCalls = "expect-listener-calls";

    /// <summary><c>guest-map</c>: the guest maps in its IO page tables.</summary>
    public const string GuestMap = "guest-map";

    /// <summary><c>guest-unmap</c>: the guest unmaps from its IO page tables.</summary>
    public const string GuestUnmap = "guest-unmap";

    /// <summary><c>guest-invalidate</c>: the guest invalidates its vIOMMU's IOTLB.</summary>
    public const string GuestInvalidate = "guest-invalidate";

    /// <summary><c>guest-enable</c>: the guest turns DMA remapping on.</summary>
    public const string GuestEnable = "guest-enable";

    /// <summary><c>guest-disable</c>: the guest turns DMA remapping off.</summary>
    public const string GuestDisable = "guest-disable";

    /// <summary><c>replay</c>: replays a device's guest mappings to the notifiers; output <c>events</c>.</summary>
    public const string Replay = "replay";

    /// <summary><c>dma</c>: a device DMA; output <c>data</c> for reads, or a fault.</summary>
    public const string Dma = "dma";

    /// <summary><c>expect-iotlb</c>: checks IOTLB hit / miss counts; outputs <c>hits</c>, <c>misses</c>.</summary>
    public const string ExpectIotlb = "expect-iotlb";

    /// <summary><c>expect-stale</c>: checks the count of DMA through stale IOTLB entries; output <c>count</c>.</summary>
    public const string ExpectStale = "expect-stale";

    /// <summary>
    /// <c>expect-faults</c>: checks a stage's fault log (an addition to the contract); outputs <c>count</c>, <c>last</c>.
    /// </summary>
    public const string ExpectFaults = "expect-faults";

    /// <summary>Every op, in the contract's order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        Map, Unmap, GetInfo, IoasMap, IoasUnmap, IoasCopy, IoasIovaRanges, IoasAllowIovas, IoasReserve, IoasMapRange, IoasUnmapRange, ExpectMappings,
        RegionAdd, RegionDel, RegionSet, Transaction, ExpectFlatview, ExpectListenerCalls,
        GuestMap, GuestUnmap, GuestInvalidate, GuestEnable, GuestDisable, Replay, Dma, ExpectIotlb, ExpectStale,
        ExpectFaults,
    ];

    /// <summary>The outputs an op reports and that a file may expect, by name.</summary>
    internal static IReadOnlyDictionary<string, OutputKind> OutputsOf(string op) => op switch
    {
        Unmap => new Dictionary<string, OutputKind> { ["size"] = OutputKind.Size },
        GetInfo => new Dictionary<string, OutputKind>
        {
            ["page-sizes"] = OutputKind.PageSizes,
            ["iova-ranges"] = OutputKind.RangeList,
            ["dma-avail"] = OutputKind.Number,
        },
        IoasMap => new Dictionary<string, OutputKind> { ["iova"] = OutputKind.Number },
        IoasUnmap => new Dictionary<string, OutputKind> { ["length"] = OutputKind.Size },
        IoasUnmapRange => new Dictionary<string, OutputKind> { ["size"] = OutputKind.Size },
        IoasCopy => new Dictionary<string, OutputKind> { ["dst-iova"] = OutputKind.Number },
        IoasIovaRanges => new Dictionary<string, OutputKind>
        {
            ["ranges"] = OutputKind.RangeList,
            ["alignment"] = OutputKind.Number,
            ["count"] = OutputKind.Number,
        },
        Replay => new Dictionary<string, OutputKind> { ["events"] = OutputKind.Number, ["pte-reads"] = OutputKind.Number },
        Dma => new Dictionary<string, OutputKind> { ["data"] = OutputKind.Bytes },
        _ => new Dictionary<string, OutputKind>(),
    };
}
