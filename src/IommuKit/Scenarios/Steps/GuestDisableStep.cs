namespace IommuKit.Scenarios;

/// <summary><c>guest-disable</c>: the guest turns DMA remapping off.</summary>
public sealed record GuestDisableStep : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GuestDisable;
}
