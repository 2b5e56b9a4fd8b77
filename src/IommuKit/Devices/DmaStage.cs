namespace IommuKit.Devices;

/// <summary>Which translation stage refused a DMA (scenario names <c>guest</c> and <c>host</c>).</summary>
public enum DmaStage
{
    /// <summary>No stage: the access succeeded.</summary>
    None,

    /// <summary>The guest vIOMMU (guest IOVA → guest-physical).</summary>
    Guest,

    /// <summary>The host IOMMU (host IOVA → host physical) or the host memory behind it.</summary>
    Host,
}
