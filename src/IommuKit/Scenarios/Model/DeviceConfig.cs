namespace IommuKit.Scenarios;

/// <summary>A DMA-capable device (an entry of <c>devices</c>).</summary>
/// <param name="Name">The unique device name.</param>
/// <param name="Behind">What its DMA goes through (default <c>guest-iommu</c> when there is one, else <c>none</c>).</param>
public sealed record DeviceConfig(string Name, DeviceAttachment Behind)
{
    /// <summary>Where the device is written.</summary>
    public SourcePosition Position { get; init; }
}
