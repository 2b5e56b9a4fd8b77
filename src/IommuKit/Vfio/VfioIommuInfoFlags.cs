namespace IommuKit.Vfio;

/// <summary>Flags of <c>struct vfio_iommu_type1_info</c>.</summary>
[Flags]
public enum VfioIommuInfoFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>VFIO_IOMMU_INFO_PGSIZES</c>: <c>iova_pgsizes</c> is valid.</summary>
    Pgsizes = 1 << 0,

    /// <summary><c>VFIO_IOMMU_INFO_CAPS</c>: a capability chain exists (copied only when argsz has room).</summary>
    Caps = 1 << 1,
}
