namespace IommuKit.Scenarios;

/// <summary>The <c>flags</c> of an <c>unmap</c> step; values are VFIO_DMA_UNMAP_FLAG_* of the Linux UAPI.</summary>
[Flags]
public enum UnmapStepFlags
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>get-dirty-bitmap</c>: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP.</summary>
    GetDirtyBitmap = 1 << 0,

    /// <summary><c>all</c>: VFIO_DMA_UNMAP_FLAG_ALL (iova and size must be 0).</summary>
    All = 1 << 1,

    /// <summary><c>vaddr</c>: VFIO_DMA_UNMAP_FLAG_VADDR (invalidate the vaddr, keep the mapping).</summary>
    Vaddr = 1 << 2,
}
