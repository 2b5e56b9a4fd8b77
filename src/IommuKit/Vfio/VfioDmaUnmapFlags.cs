namespace IommuKit.Vfio;

/// <summary>Flags of <c>struct vfio_iommu_type1_dma_unmap</c>.</summary>
[Flags]
public enum VfioDmaUnmapFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP</c>: report the unmapped pages' dirty bits.</summary>
    GetDirtyBitmap = 1 << 0,

    /// <summary><c>VFIO_DMA_UNMAP_FLAG_ALL</c>: unmap everything (iova and size must be 0).</summary>
    All = 1 << 1,

    /// <summary><c>VFIO_DMA_UNMAP_FLAG_VADDR</c>: invalidate the vaddr only; DMA continues.</summary>
    Vaddr = 1 << 2,
}
