namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-mappings</c>: the container's records, ascending. The executor reports output <c>mappings</c>: a list of
/// <c>[iova, last, vaddr]</c> number lists (build it with <see cref="ScenarioOutputs.Mappings"/>); the runner compares.
/// </summary>
/// <param name="Mappings">The expected records.</param>
public sealed record ExpectMappingsStep(IReadOnlyList<ExpectedMapping> Mappings) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectMappings;
}
