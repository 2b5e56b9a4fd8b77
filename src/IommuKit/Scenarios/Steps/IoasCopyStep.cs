namespace IommuKit.Scenarios;

/// <summary><c>ioas-copy</c>: IOMMU_IOAS_COPY; output <c>dst-iova</c>.</summary>
/// <param name="SrcIova">The source IOVA.</param>
/// <param name="Length">The length as written.</param>
/// <param name="DstIova">The destination IOVA for <c>fixed-iova</c>; <see langword="null"/> when absent.</param>
/// <param name="Flags">The flags, defaulted as for <see cref="IoasMapStep"/>.</param>
public sealed record IoasCopyStep(ulong SrcIova, UInt128 Length, ulong? DstIova, IoasMapStepFlags Flags) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasCopy;
}
