namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-stale</c>: the number of DMA accesses that succeeded through an IOTLB entry whose mapping was already
/// removed. The executor reports output <c>count</c>.
/// </summary>
/// <param name="Count">The expected count.</param>
public sealed record ExpectStaleStep(ulong Count) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectStale;
}
