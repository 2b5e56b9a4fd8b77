namespace IommuKit.Scenarios;

/// <summary><c>unmap</c>: VFIO_IOMMU_UNMAP_DMA; output <c>size</c> (bytes unmapped).</summary>
/// <param name="Iova">The IOVA (0 when absent with the <c>all</c> flag).</param>
/// <param name="Size">The size (0 when absent with the <c>all</c> flag).</param>
/// <param name="Flags">The flags (none when absent).</param>
public sealed record UnmapStep(ulong Iova, UInt128 Size, UnmapStepFlags Flags) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.Unmap;
}
