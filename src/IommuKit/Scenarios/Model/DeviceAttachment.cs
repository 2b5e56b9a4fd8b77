namespace IommuKit.Scenarios;

/// <summary>What a device's DMA goes through (<c>behind</c> of a <c>devices</c> entry).</summary>
public enum DeviceAttachment
{
    /// <summary><c>none</c>: DMA goes straight to the host container.</summary>
    None,

    /// <summary><c>guest-iommu</c>: DMA is translated by the guest vIOMMU, then by the host container.</summary>
    GuestIommu,
}
