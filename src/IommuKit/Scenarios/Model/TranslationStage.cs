namespace IommuKit.Scenarios;

/// <summary>Which IOMMU a fault or an IOTLB count belongs to (<c>stage</c>).</summary>
public enum TranslationStage
{
    /// <summary><c>guest</c>: the guest vIOMMU (IOVA to guest-physical).</summary>
    Guest,

    /// <summary><c>host</c>: the host IOMMU domain behind the container.</summary>
    Host,
}
