namespace IommuKit.Scenarios;

/// <summary>A container call made by the VFIO listener (<c>op</c> of an <c>expect-listener-calls</c> entry).</summary>
public enum ListenerCallKind
{
    /// <summary><c>map</c>: a DMA map.</summary>
    Map,

    /// <summary><c>unmap</c>: a DMA unmap of a range.</summary>
    Unmap,

    /// <summary><c>unmap-all</c>: type1's VFIO_DMA_UNMAP_FLAG_ALL or iommufd's unmap of <c>(0, U64_MAX)</c>.</summary>
    UnmapAll,
}
