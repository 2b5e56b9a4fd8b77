namespace IommuKit.Scenarios;

/// <summary><c>region-add</c>: adds a region (fields as in <c>machine.regions</c>, plus <c>parent</c>).</summary>
/// <param name="Region">The region.</param>
public sealed record RegionAddStep(RegionConfig Region) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.RegionAdd;
}
