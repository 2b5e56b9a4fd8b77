namespace IommuKit.Vfio;

/// <summary>The IOMMU backend chosen with <c>VFIO_SET_IOMMU</c>; values are the UAPI extension numbers.</summary>
public enum VfioIommuType
{
    /// <summary><c>VFIO_TYPE1_IOMMU</c>: v1 unmap semantics (lenient, whole-mapping granularity).</summary>
    Type1 = 1,

    /// <summary><c>VFIO_TYPE1v2_IOMMU</c>: v2 unmap semantics (no bisecting) and dirty tracking.</summary>
    Type1v2 = 3,
}
