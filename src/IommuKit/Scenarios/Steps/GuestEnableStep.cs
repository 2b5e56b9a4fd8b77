namespace IommuKit.Scenarios;

/// <summary><c>guest-enable</c>: the guest turns DMA remapping on.</summary>
public sealed record GuestEnableStep : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GuestEnable;
}
