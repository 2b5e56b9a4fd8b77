namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-flatview</c>: system memory's flat view, ascending. The executor reports output <c>ranges</c>: a list of
/// <c>[first, last, region-name]</c> (see <see cref="ScenarioOutputs.FlatRanges"/>); the runner compares.
/// </summary>
/// <param name="Ranges">The expected ranges.</param>
public sealed record ExpectFlatviewStep(IReadOnlyList<ExpectedFlatRange> Ranges) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectFlatview;
}
