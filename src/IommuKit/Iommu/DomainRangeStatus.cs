namespace IommuKit.Iommu;

/// <summary>Whether an IOVA range may be mapped in an <see cref="IommuDomain"/> (see <see cref="IommuDomain.CheckRange"/>).</summary>
public enum DomainRangeStatus
{
    /// <summary>The range is inside the aperture and clear of every reserved range.</summary>
    Ok,

    /// <summary>Part of the range is outside the domain's aperture.</summary>
    OutsideAperture,

    /// <summary>Part of the range overlaps a reserved range (an MSI window, say).</summary>
    Reserved,
}
