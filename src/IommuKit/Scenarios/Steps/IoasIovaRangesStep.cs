namespace IommuKit.Scenarios;

/// <summary><c>ioas-iova-ranges</c>: IOMMU_IOAS_IOVA_RANGES; outputs <c>ranges</c>, <c>alignment</c>, <c>count</c>.</summary>
/// <param name="Capacity">The caller's array capacity (<c>num_iovas</c>); <see langword="null"/>: large enough.</param>
public sealed record IoasIovaRangesStep(uint? Capacity) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasIovaRanges;
}
