using System.CommandLine;
using IommuKit.Cli.Rendering;
using IommuKit.Scenarios;
using IommuKit.Scenarios.Executors;

namespace IommuKit.Cli.Commands;

/// <summary>
/// <c>iommukit mtree FILE [--after-steps]</c>: the memory map of a scenario's <c>machine:</c> as QEMU's
/// <c>info mtree</c> (the region tree) and <c>info mtree -f</c> (the flat view). By default the initial map; with
/// <c>--after-steps</c> the map after the file's region steps (expectations are not checked: use <c>run</c>).
/// </summary>
public static class MtreeCommand
{
    /// <summary>Creates the <c>mtree</c> command.</summary>
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A scenario file (YAML) with a machine: section" };
        var after = new Option<bool>("--after-steps") { Description = "Show the map after the file's region-add/del/set/transaction steps" };
        var command = new Command("mtree", "Print a scenario's memory map like QEMU's 'info mtree' and 'info mtree -f'");
        command.Arguments.Add(file);
        CliApp.RejectFlagLikeFiles(file);
        command.Options.Add(after);
        command.SetAction(parseResult => Run(parseResult.GetValue(file)!, parseResult.GetValue(after), Console.Out, Console.Error));
        return command;
    }

    /// <summary>Loads <paramref name="file"/>, builds its map and renders it to <paramref name="output"/>; returns the exit code.</summary>
    public static int Run(string file, bool afterSteps, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            ScenarioDocument document = ScenarioParser.Load(file);
            MemoryMapExecutor map = MemoryMapExecutor.BuildMap(document);
            if (afterSteps)
            {
                map.ApplyRegionSteps(document.Steps, new ScenarioContext(document));
            }

            new MemoryTreeRenderer(PageTableTreeRenderer.CreateConsole(output)).Render(map.SystemMemory!);
            return CliApp.ExitOk;
        }
        catch (ScenarioException e)
        {
            error.WriteLine(e.Message);
            return CliApp.ExitInvalid;
        }
    }
}
