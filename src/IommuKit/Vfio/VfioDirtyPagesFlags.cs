namespace IommuKit.Vfio;

/// <summary>Flags of <c>struct vfio_iommu_type1_dirty_bitmap</c> (<c>VFIO_IOMMU_DIRTY_PAGES</c>).</summary>
[Flags]
public enum VfioDirtyPagesFlags : uint
{
    /// <summary>No flag (rejected: exactly one is needed).</summary>
    None = 0,

    /// <summary><c>VFIO_IOMMU_DIRTY_PAGES_FLAG_START</c>.</summary>
    Start = 1 << 0,

    /// <summary><c>VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP</c>.</summary>
    Stop = 1 << 1,

    /// <summary><c>VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP</c>.</summary>
    GetBitmap = 1 << 2,
}
