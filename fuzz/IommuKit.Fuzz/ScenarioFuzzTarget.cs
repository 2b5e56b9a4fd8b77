using System.Text;
using IommuKit.Scenarios;

namespace IommuKit.Fuzz;

/// <summary>
/// The fuzz target: one input is parsed and run through <see cref="ScenarioRunner"/> with every executor
/// <c>iommukit run</c> uses. Every input must end in a result or a <c>FILE:LINE:COLUMN</c> error; anything else (an
/// exception escaping, an error without a position) is reported as a <see cref="FuzzFailureException"/>.
/// </summary>
public static class ScenarioFuzzTarget
{
    /// <summary>The file name every fuzz input is given; errors must start with it.</summary>
    public const string FileName = "fuzz.yaml";

    /// <summary>Runs one input given as bytes (invalid UTF-8 is replaced, as a file reader would).</summary>
    /// <param name="data">The input.</param>
    /// <exception cref="FuzzFailureException">The input did not end in a result or a positioned error.</exception>
    public static void Execute(ReadOnlySpan<byte> data) => Execute(Encoding.UTF8.GetString(data));

    /// <summary>Runs one input given as text.</summary>
    /// <param name="text">The scenario text.</param>
    /// <exception cref="FuzzFailureException">The input did not end in a result or a positioned error.</exception>
    public static void Execute(string text)
    {
        ScenarioFileResult result;
        try
        {
            result = new ScenarioRunner(DefaultScenarioExecutors.Create()).RunText(text, FileName);
        }
        catch (Exception e)
        {
            throw new FuzzFailureException($"an exception escaped the runner: {e.GetType().Name}: {e.Message}", text, e);
        }

        if (result.Error is { } error)
        {
            string prefix = $"{FileName}:{error.Line}:{error.Column}: ";
            if (error.File != FileName || error.Line < 1 || error.Column < 1 || !error.Message.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new FuzzFailureException($"an error without FILE:LINE:COLUMN: {error.Message}", text, error);
            }
        }
        else if (result.Document is null)
        {
            throw new FuzzFailureException("neither a document nor an error", text, null);
        }
    }
}
