using IommuKit.Addressing;

namespace IommuKit.Scenarios;

/// <summary>The host IOMMU domain of a scenario (the top-level <c>iommu</c> map).</summary>
/// <param name="Format">The page-table format (default <c>x86-sl-4level</c>).</param>
/// <param name="PageSizes">The page sizes to use; <see langword="null"/>: all leaf sizes of the format.</param>
/// <param name="Aperture">The inclusive aperture; <see langword="null"/>: the format's input width.</param>
/// <param name="Reserved">Inclusive ranges that cannot be mapped, in file order.</param>
/// <param name="Iotlb">The IOTLB geometry.</param>
public sealed record IommuConfig(
    IommuFormat Format,
    PageSizes? PageSizes,
    IovaRange? Aperture,
    IReadOnlyList<IovaRange> Reserved,
    IotlbConfig Iotlb)
{
    /// <summary>The defaults: <c>x86-sl-4level</c>, the format's sizes and width, nothing reserved, 512x8 IOTLB.</summary>
    public static IommuConfig Default { get; } = new(IommuFormat.X86Sl4Level, null, null, [], IotlbConfig.Default);
}
