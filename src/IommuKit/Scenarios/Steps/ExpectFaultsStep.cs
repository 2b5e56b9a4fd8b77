namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-faults</c>: the fault log of one stage since the start (<c>guest</c>: the VT-d unit's log; <c>host</c>:
/// the host IOMMU domain's). The executor reports output <c>count</c> (the records in the log) and, when the log holds
/// one, <c>last</c> (<c>{ fault, iova }</c> of the newest record); the runner checks those written.
/// </summary>
/// <param name="Stage">Which IOMMU's log.</param>
/// <param name="Count">The expected number of records.</param>
/// <param name="LastFault">The expected reason of the newest record; <see langword="null"/>: not checked.</param>
/// <param name="LastIova">The expected IOVA of the newest record; <see langword="null"/>: not checked.</param>
public sealed record ExpectFaultsStep(TranslationStage Stage, ulong Count, ScenarioFaultKind? LastFault, ulong? LastIova) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectFaults;
}
