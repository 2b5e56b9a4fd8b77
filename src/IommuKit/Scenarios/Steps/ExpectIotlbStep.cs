namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-iotlb</c>: IOTLB counters of one stage. The executor reports outputs <c>hits</c> and <c>misses</c>; the
/// runner checks those written.
/// </summary>
/// <param name="Stage">Which IOMMU.</param>
/// <param name="Hits">The expected hit count; <see langword="null"/>: not checked.</param>
/// <param name="Misses">The expected miss count; <see langword="null"/>: not checked.</param>
public sealed record ExpectIotlbStep(TranslationStage Stage, ulong? Hits, ulong? Misses) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectIotlb;
}
