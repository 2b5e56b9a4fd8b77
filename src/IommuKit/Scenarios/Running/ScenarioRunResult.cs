namespace IommuKit.Scenarios;

/// <summary>The results of a run over several files, and the exit status the contract gives them.</summary>
public sealed class ScenarioRunResult
{
    /// <summary>Exit status when every expectation holds.</summary>
    public const int ExitOk = 0;

    /// <summary>Exit status when an expectation does not hold.</summary>
    public const int ExitFailed = 1;

    /// <summary>Exit status when a file is invalid (takes precedence over <see cref="ExitFailed"/>).</summary>
    public const int ExitInvalid = 2;

    /// <summary>Creates the result of <paramref name="files"/>.</summary>
    public ScenarioRunResult(IReadOnlyList<ScenarioFileResult> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        Files = files;
    }

    /// <summary>Every file in the order given.</summary>
    public IReadOnlyList<ScenarioFileResult> Files { get; }

    /// <summary>Expectations that held, over all files.</summary>
    public int Passed => Files.Sum(f => f.Passed);

    /// <summary>Expectations that did not hold, over all files.</summary>
    public int Failed => Files.Sum(f => f.Failed);

    /// <summary>
    /// 2 when any file is invalid (the valid files still ran), else 1 when any expectation failed, else 0.
    /// </summary>
    public int ExitCode => Files.Any(f => !f.IsValid) ? ExitInvalid : Failed > 0 ? ExitFailed : ExitOk;

    /// <summary>The closing line: <c>N passed, M failed</c>.</summary>
    public string Summary => $"{Passed} passed, {Failed} failed";
}
