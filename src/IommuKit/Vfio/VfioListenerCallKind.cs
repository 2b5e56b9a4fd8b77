namespace IommuKit.Vfio;

/// <summary>The kind of a container call a <see cref="VfioListener"/> made.</summary>
public enum VfioListenerCallKind
{
    /// <summary>A DMA map (<c>VFIO_IOMMU_MAP_DMA</c>, <c>IOMMU_IOAS_MAP</c> fixed-iova, or the native full-range map).</summary>
    Map,

    /// <summary>A DMA unmap of a range (<c>VFIO_IOMMU_UNMAP_DMA</c>, <c>IOMMU_IOAS_UNMAP</c>, or the native full-range unmap).</summary>
    Unmap,

    /// <summary>Unmap everything: type1 <c>VFIO_DMA_UNMAP_FLAG_ALL</c> or iommufd <c>(0, U64_MAX)</c>.</summary>
    UnmapAll,
}
