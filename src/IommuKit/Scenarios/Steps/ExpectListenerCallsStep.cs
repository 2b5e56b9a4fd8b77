namespace IommuKit.Scenarios;

/// <summary>
/// <c>expect-listener-calls</c>: the container calls the listener made since the start or the last check, in order.
/// The executor reports output <c>calls</c> (see <see cref="ScenarioOutputs.ListenerCalls"/>) and forgets them.
/// </summary>
/// <param name="Calls">The expected calls.</param>
public sealed record ExpectListenerCallsStep(IReadOnlyList<ExpectedListenerCall> Calls) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.ExpectListenerCalls;
}
