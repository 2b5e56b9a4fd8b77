namespace IommuKit.Scenarios;

/// <summary>The result of one scenario file: invalid (nothing ran), or the results of its steps.</summary>
public sealed class ScenarioFileResult
{
    /// <summary>The file (path or label).</summary>
    public required string File { get; init; }

    /// <summary>The parsed document; <see langword="null"/> when the file is invalid.</summary>
    public ScenarioDocument? Document { get; init; }

    /// <summary>Why the file is invalid (then no step ran); <see langword="null"/> for a valid file.</summary>
    public ScenarioException? Error { get; init; }

    /// <summary>Why the machine could not be built (then every step fails as not run); <see langword="null"/> when it was.</summary>
    public string? SetupFailure { get; init; }

    /// <summary>The step results in the order steps finished (a transaction after its nested steps).</summary>
    public IReadOnlyList<StepResult> Steps { get; init; } = [];

    /// <summary>Every trace event of the file in order, setup events included.</summary>
    public IReadOnlyList<ScenarioTraceEvent> Trace { get; init; } = [];

    /// <summary>True when the file parsed.</summary>
    public bool IsValid => Error is null;

    /// <summary>The expectations that held.</summary>
    public int Passed => Steps.Count(s => s.Passed);

    /// <summary>The expectations that did not hold (a setup failure counts as one more).</summary>
    public int Failed => Steps.Count(s => !s.Passed) + (SetupFailure is null ? 0 : 1);
}
