using System.Text.Encodings.Web;
using System.Text.Json;
using IommuKit.Scenarios;

namespace IommuKit.Cli.Rendering;

/// <summary>
/// Renders scenario results as one JSON object: <c>passed</c>, <c>failed</c>, <c>exitCode</c>, and <c>files</c>, each
/// with <c>file</c>, <c>valid</c>, <c>error</c> (<c>line</c>, <c>column</c>, <c>message</c>), <c>setupFailure</c> and
/// <c>steps</c>: <c>file</c>, <c>index</c>, <c>path</c>, <c>op</c>, <c>line</c>, <c>column</c>, <c>expected</c>,
/// <c>actual</c>, <c>passed</c>, <c>failure</c>, <c>trace</c>.
/// </summary>
public static class ScenarioJsonRenderer
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="output"/> as indented JSON.</summary>
    public static void Render(ScenarioRunResult result, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(output);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("passed", result.Passed);
            writer.WriteNumber("failed", result.Failed);
            writer.WriteNumber("exitCode", result.ExitCode);
            writer.WriteStartArray("files");
            foreach (ScenarioFileResult file in result.Files)
            {
                WriteFile(writer, file);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        output.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static void WriteFile(Utf8JsonWriter writer, ScenarioFileResult file)
    {
        writer.WriteStartObject();
        writer.WriteString("file", file.File);
        writer.WriteBoolean("valid", file.IsValid);
        if (file.Error is { } error)
        {
            writer.WriteStartObject("error");
            writer.WriteNumber("line", error.Line);
            writer.WriteNumber("column", error.Column);
            writer.WriteString("message", error.Reason);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("error");
        }

        writer.WriteString("setupFailure", file.SetupFailure);
        writer.WriteNumber("passed", file.Passed);
        writer.WriteNumber("failed", file.Failed);
        writer.WriteStartArray("steps");
        foreach (StepResult step in file.Steps)
        {
            writer.WriteStartObject();
            writer.WriteString("file", step.File);
            writer.WriteNumber("index", step.Index);
            writer.WriteString("path", step.Path);
            writer.WriteString("op", step.Op);
            writer.WriteNumber("line", step.Position.Line);
            writer.WriteNumber("column", step.Position.Column);
            writer.WriteString("expected", step.Expected);
            writer.WriteString("actual", step.Actual);
            writer.WriteBoolean("passed", step.Passed);
            writer.WriteString("failure", step.Failure);
            writer.WriteStartArray("trace");
            foreach (ScenarioTraceEvent e in step.Trace)
            {
                writer.WriteStringValue(e.ToString());
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
