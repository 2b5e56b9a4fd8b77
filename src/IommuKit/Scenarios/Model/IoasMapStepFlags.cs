namespace IommuKit.Scenarios;

/// <summary>The <c>flags</c> of <c>ioas-map</c> and <c>ioas-copy</c>; values are IOMMU_IOAS_MAP_* of the Linux UAPI.</summary>
[Flags]
public enum IoasMapStepFlags
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>fixed-iova</c>: IOMMU_IOAS_MAP_FIXED_IOVA (map at <c>iova</c> rather than allocate one).</summary>
    FixedIova = 1 << 0,

    /// <summary><c>writeable</c>: IOMMU_IOAS_MAP_WRITEABLE.</summary>
    Writeable = 1 << 1,

    /// <summary><c>readable</c>: IOMMU_IOAS_MAP_READABLE.</summary>
    Readable = 1 << 2,
}
