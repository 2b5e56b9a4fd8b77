namespace IommuKit.Scenarios;

/// <summary>The container a scenario drives (<c>container.kind</c>).</summary>
public enum ContainerKind
{
    /// <summary><c>vfio-type1</c>: VFIO_TYPE1_IOMMU (v1 unmap semantics: may bisect a mapping's first page).</summary>
    VfioType1,

    /// <summary><c>vfio-type1v2</c>: VFIO_TYPE1v2_IOMMU (the default).</summary>
    VfioType1v2,

    /// <summary><c>iommufd</c>: an iommufd IOAS.</summary>
    Iommufd,

    /// <summary>
    /// <c>iommufd-compat-type1</c>: <c>/dev/iommu</c> driven through VFIO_TYPE1_IOMMU compat ioctls (<c>map</c>,
    /// <c>unmap</c>, <c>get-info</c>) on its compat IOAS; huge pages off, so v1 unmaps cut areas (an IommuKit addition).
    /// </summary>
    IommufdCompatType1,

    /// <summary>
    /// <c>iommufd-compat-type1v2</c>: <c>/dev/iommu</c> driven through VFIO_TYPE1v2_IOMMU compat ioctls on its compat
    /// IOAS (an IommuKit addition). The <c>ioas-*</c> ops act on the same IOAS.
    /// </summary>
    IommufdCompatType1v2,
}
