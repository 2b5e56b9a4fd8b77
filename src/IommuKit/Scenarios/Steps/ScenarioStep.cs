namespace IommuKit.Scenarios;

/// <summary>
/// One step of a scenario: an op with its fields (a derived record per op) and its expectation. Executors switch on
/// the derived type (<c>step is MapStep map</c>) or on <see cref="Op"/>.
/// </summary>
public abstract record ScenarioStep
{
    /// <summary>The op name as written (one of <see cref="ScenarioOps"/>).</summary>
    public abstract string Op { get; }

    /// <summary>Where the step's map starts in the file.</summary>
    public SourcePosition Position { get; init; }

    /// <summary>What the step expects (<see cref="StepExpectation.Ok"/> when <c>expect</c> is absent).</summary>
    public StepExpectation Expect { get; init; } = StepExpectation.Ok;
}
