namespace IommuKit.Scenarios;

/// <summary><c>ioas-unmap</c>: IOMMU_IOAS_UNMAP (<c>iova: 0, length: U64_MAX</c> unmaps all); output <c>length</c>.</summary>
/// <param name="Iova">The IOVA.</param>
/// <param name="Length">The length as written.</param>
public sealed record IoasUnmapStep(ulong Iova, UInt128 Length) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasUnmap;
}
