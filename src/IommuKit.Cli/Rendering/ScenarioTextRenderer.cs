using IommuKit.Scenarios;

namespace IommuKit.Cli.Rendering;

/// <summary>
/// Renders scenario results as plain text, one line per step: <c>FILE:LINE:COLUMN: [PATH] OP -> OUTCOME PASS</c> or
/// <c>... FAIL (what differed)</c>; an invalid file as <c>FILE:LINE:COLUMN: message</c>; trace events (with
/// <c>--trace</c>) verbatim in the order they happened; and the closing line <c>N passed, M failed</c>.
/// </summary>
public static class ScenarioTextRenderer
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="output"/>.</summary>
    public static void Render(ScenarioRunResult result, TextWriter output, bool trace)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(output);
        foreach (ScenarioFileResult file in result.Files)
        {
            if (file.Error is { } error)
            {
                output.WriteLine(error.Message);
                continue;
            }

            if (file.SetupFailure is { } setup)
            {
                output.WriteLine($"{file.File}: setup FAIL ({setup})");
            }

            int nextEvent = 0;
            foreach (StepResult step in file.Steps)
            {
                // Events and results share one sequence: print every event that happened before this result.
                for (; trace && nextEvent < file.Trace.Count && file.Trace[nextEvent].Sequence < step.Sequence; nextEvent++)
                {
                    output.WriteLine(file.Trace[nextEvent].ToString());
                }

                output.WriteLine(FormatStep(step));
            }

            for (; trace && nextEvent < file.Trace.Count; nextEvent++)
            {
                output.WriteLine(file.Trace[nextEvent].ToString());
            }
        }

        output.WriteLine(result.Summary);
    }

    /// <summary>One step's line.</summary>
    public static string FormatStep(StepResult step)
    {
        ArgumentNullException.ThrowIfNull(step);
        string line = $"{step.Position}: [{step.Path}] {step.Op} -> {step.Actual}";
        return step.Passed ? line + " PASS" : $"{line} FAIL ({step.Failure})";
    }
}
