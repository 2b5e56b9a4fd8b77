namespace IommuKit.Scenarios;

/// <summary><c>region-del</c>: removes the region <paramref name="Name"/> from its parent.</summary>
/// <param name="Name">The region name.</param>
public sealed record RegionDelStep(string Name) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.RegionDel;
}
