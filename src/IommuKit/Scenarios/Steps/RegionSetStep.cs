namespace IommuKit.Scenarios;

/// <summary><c>region-set</c>: changes the properties given (each <see langword="null"/> when not written).</summary>
/// <param name="Name">The region name.</param>
/// <param name="Enabled">The new enabled state.</param>
/// <param name="Offset">The new offset in the parent.</param>
/// <param name="Size">The new size.</param>
/// <param name="ReadOnly">The new read-only state.</param>
/// <param name="Priority">The new priority.</param>
public sealed record RegionSetStep(string Name, bool? Enabled, ulong? Offset, UInt128? Size, bool? ReadOnly, int? Priority) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.RegionSet;
}
