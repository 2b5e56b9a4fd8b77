namespace IommuKit.Vfio;

/// <summary>Flags of <c>struct vfio_iommu_type1_dma_map</c>.</summary>
[Flags]
public enum VfioDmaMapFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>VFIO_DMA_MAP_FLAG_READ</c>: the device may read.</summary>
    Read = 1 << 0,

    /// <summary><c>VFIO_DMA_MAP_FLAG_WRITE</c>: the device may write.</summary>
    Write = 1 << 1,

    /// <summary><c>VFIO_DMA_MAP_FLAG_VADDR</c>: rebind an invalidated mapping to a new vaddr.</summary>
    Vaddr = 1 << 2,
}
