using System.CommandLine;
using IommuKit.Cli.Rendering;
using IommuKit.Scenarios;

namespace IommuKit.Cli.Commands;

/// <summary><c>iommukit run FILE... [--json] [--trace]</c>: runs scenario files and reports every expectation.</summary>
public static class RunCommand
{
    /// <summary>Creates the <c>run</c> command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("files")
        {
            Description = "Scenario files (YAML) to run, in order",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var json = new Option<bool>("--json") { Description = "Write the results as JSON" };
        var trace = new Option<bool>("--trace") { Description = "Add one line per container / listener / IOMMU event (QEMU trace-event style)" };

        var command = new Command("run", "Run scenario files; exit 0 when every expectation holds, 1 when one fails, 2 when a file is invalid");
        command.Arguments.Add(files);
        CliApp.RejectFlagLikeFiles(files);
        command.Options.Add(json);
        command.Options.Add(trace);
        command.SetAction(parseResult => Run(
            parseResult.GetValue(files) ?? [],
            parseResult.GetValue(json),
            parseResult.GetValue(trace),
            Console.Out,
            Console.Error));
        return command;
    }

    /// <summary>Runs <paramref name="files"/> with the default executors and renders to <paramref name="output"/>; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> files, bool json, bool trace, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (files.Count == 0)
        {
            error.WriteLine("iommukit run: no scenario file given (usage: iommukit run FILE... [--json] [--trace])");
            return CliApp.ExitInvalid;
        }

        var runner = new ScenarioRunner(DefaultScenarioExecutors.Create(), trace);
        ScenarioRunResult result = runner.RunFiles(files);
        if (json)
        {
            ScenarioJsonRenderer.Render(result, output);
        }
        else
        {
            ScenarioTextRenderer.Render(result, output, trace);
        }

        return result.ExitCode;
    }
}
