namespace IommuKit.Vfio;

/// <summary>Extensions queried with <c>VFIO_CHECK_EXTENSION</c> (UAPI values).</summary>
public enum VfioExtension
{
    /// <summary><c>VFIO_TYPE1_IOMMU</c>.</summary>
    Type1Iommu = 1,

    /// <summary><c>VFIO_SPAPR_TCE_IOMMU</c> (not provided by type1).</summary>
    SpaprTceIommu = 2,

    /// <summary><c>VFIO_TYPE1v2_IOMMU</c>.</summary>
    Type1v2Iommu = 3,

    /// <summary><c>VFIO_DMA_CC_IOMMU</c>: every domain enforces cache coherency.</summary>
    DmaCcIommu = 4,

    /// <summary><c>VFIO_TYPE1_NESTING_IOMMU</c>: offered by type1 up to 6.12 (<see cref="VfioKernelRules.HasType1Nesting"/>).</summary>
    Type1NestingIommu = 6,

    /// <summary><c>VFIO_UNMAP_ALL</c>: <see cref="VfioDmaUnmapFlags.All"/> is supported.</summary>
    UnmapAll = 9,

    /// <summary><c>VFIO_UPDATE_VADDR</c>: the VADDR flags of map and unmap are supported.</summary>
    UpdateVaddr = 10,
}
