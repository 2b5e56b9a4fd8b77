namespace IommuKit.Scenarios;

/// <summary>
/// <c>transaction</c>: nested steps that listeners see as one begin/commit. The executor of <c>transaction</c> begins,
/// runs each nested step through <see cref="ScenarioContext.RunNested"/> (which checks their expectations), then commits.
/// </summary>
/// <param name="Steps">The nested steps.</param>
public sealed record TransactionStep(IReadOnlyList<ScenarioStep> Steps) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.Transaction;
}
