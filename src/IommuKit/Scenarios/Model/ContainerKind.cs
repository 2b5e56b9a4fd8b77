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
}
