namespace IommuKit.Iommufd;

/// <summary>Flags of <c>IOMMU_IOAS_MAP</c> and <c>IOMMU_IOAS_COPY</c> (<c>include/uapi/linux/iommufd.h</c>).</summary>
[Flags]
public enum IoasMapFlags : uint
{
    /// <summary>No flag: the kernel allocates the IOVA and the mapping has no access (rejected with EINVAL).</summary>
    None = 0,

    /// <summary><c>IOMMU_IOAS_MAP_FIXED_IOVA</c>: map at the given <c>iova</c> instead of allocating one.</summary>
    FixedIova = 1 << 0,

    /// <summary><c>IOMMU_IOAS_MAP_WRITEABLE</c>: the device may write.</summary>
    Writeable = 1 << 1,

    /// <summary><c>IOMMU_IOAS_MAP_READABLE</c>: the device may read.</summary>
    Readable = 1 << 2,
}
