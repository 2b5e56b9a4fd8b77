namespace IommuKit.Scenarios;

/// <summary>The IOTLB geometry of an IOMMU (<c>iommu.iotlb</c>).</summary>
/// <param name="Entries">The number of entries (default 512).</param>
/// <param name="Ways">The associativity (default 8).</param>
public sealed record IotlbConfig(int Entries, int Ways)
{
    /// <summary>512 entries, 8 ways.</summary>
    public static IotlbConfig Default { get; } = new(512, 8);
}
