namespace IommuKit.Scenarios;

/// <summary><c>replay</c>: replays the device's guest mappings to its notifiers; output <c>events</c>.</summary>
/// <param name="Device">The device (declared under <c>devices</c>).</param>
public sealed record ReplayStep(string Device) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.Replay;
}
