namespace IommuKit.Scenarios;

/// <summary><c>ioas-reserve</c>: adds a reserved region to the IOAS, as a device attach would.</summary>
/// <param name="Range">The region as written.</param>
public sealed record IoasReserveStep(ScenarioRange Range) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasReserve;
}
