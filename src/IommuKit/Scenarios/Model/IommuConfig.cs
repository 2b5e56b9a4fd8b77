using IommuKit.Addressing;

namespace IommuKit.Scenarios;

/// <summary>The host IOMMU domain of a scenario (the top-level <c>iommu</c> map).</summary>
/// <param name="Format">The page-table format (default <c>x86-sl-4level</c>).</param>
/// <param name="PageSizes">The page sizes to use; <see langword="null"/>: all leaf sizes of the format.</param>
/// <param name="Aperture">The inclusive aperture; <see langword="null"/>: the format's input width.</param>
/// <param name="Reserved">Inclusive ranges that cannot be mapped, in file order (default <see cref="DefaultReserved"/>;
/// <c>reserved: []</c> reserves nothing).</param>
/// <param name="Iotlb">The IOTLB geometry.</param>
public sealed record IommuConfig(
    IommuFormat Format,
    PageSizes? PageSizes,
    IovaRange? Aperture,
    IReadOnlyList<IovaRange> Reserved,
    IotlbConfig Iotlb)
{
    /// <summary>
    /// The reserved ranges when <c>reserved</c> is not written, as the contract shows them: the x86 MSI window
    /// <c>[0xfee0_0000, 0xfeef_ffff]</c> (the IOMMU_RESV_MSI region every x86 group reports).
    /// </summary>
    public static IReadOnlyList<IovaRange> DefaultReserved { get; } = [IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff)];

    /// <summary>The defaults: <c>x86-sl-4level</c>, the format's sizes and width, the MSI window reserved, 512x8 IOTLB.</summary>
    public static IommuConfig Default { get; } = new(IommuFormat.X86Sl4Level, null, null, DefaultReserved, IotlbConfig.Default);
}
