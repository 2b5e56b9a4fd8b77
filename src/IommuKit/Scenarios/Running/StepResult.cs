namespace IommuKit.Scenarios;

/// <summary>The result of one step: what it did, what it expected, and whether the expectation held.</summary>
public sealed class StepResult
{
    /// <summary>The file the step is in.</summary>
    public required string File { get; init; }

    /// <summary>The step's 1-based index in its list (top level, or inside its transaction).</summary>
    public required int Index { get; init; }

    /// <summary>The 1-based path: <c>3</c> for the third top-level step, <c>3.2</c> for the second step of its transaction.</summary>
    public required string Path { get; init; }

    /// <summary>The step.</summary>
    public required ScenarioStep Step { get; init; }

    /// <summary>What the executor reported.</summary>
    public required StepOutcome Outcome { get; init; }

    /// <summary>True when the expectation held.</summary>
    public required bool Passed { get; init; }

    /// <summary>What differed, when the expectation did not hold; <see langword="null"/> when it passed.</summary>
    public string? Failure { get; init; }

    /// <summary>Order among the results and trace events of the file.</summary>
    public long Sequence { get; init; }

    /// <summary>The trace events recorded while the step ran (empty unless tracing).</summary>
    public IReadOnlyList<ScenarioTraceEvent> Trace { get; init; } = [];

    /// <summary>The op.</summary>
    public string Op => Step.Op;

    /// <summary>Where the step is written.</summary>
    public SourcePosition Position => Step.Position;

    /// <summary>The expectation as the file writes it.</summary>
    public string Expected => Step.Expect.ToString();

    /// <summary>The outcome as a string.</summary>
    public string Actual => Outcome.ToString();
}
