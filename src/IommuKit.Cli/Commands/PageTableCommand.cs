using System.CommandLine;
using IommuKit.Addressing;
using IommuKit.Cli.Rendering;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Scenarios;
using IommuKit.Scenarios.Executors;

namespace IommuKit.Cli.Commands;

/// <summary>
/// The <c>iommukit pagetable</c> verb: <c>demo</c> builds a small IO page table and shows it; <c>dump FILE --stage
/// guest|host [--device NAME]</c> runs a scenario file and shows the guest's or the host's table with raw PTEs.
/// </summary>
public static class PageTableCommand
{
    /// <summary>Creates the <c>pagetable</c> command with its <c>demo</c> subcommand.</summary>
    public static Command Create()
    {
        var format = new Option<string>("--format")
        {
            Description = $"Page-table format: {PageTableFormats.ValidNames}",
            DefaultValueFactory = _ => PageTableFormats.Name(PageTableFormat.X86SecondLevel4Level),
        };

        var demo = new Command("demo", "Map a 4K page, a 2M leaf, a 1G leaf and the top page of the IOVA space; print the table tree and a few translations");
        demo.Options.Add(format);
        demo.SetAction(parseResult => RunDemo(parseResult, parseResult.GetValue(format)));

        var file = new Argument<string>("file") { Description = "A scenario file (YAML)" };
        var stage = new Option<string>("--stage")
        {
            Description = "Which table: guest (the guest vIOMMU's second-level table) or host (the container's IOMMU domain)",
            Required = true,
        };
        var device = new Option<string?>("--device") { Description = "A device of the file's devices: (the guest stage needs one behind the guest IOMMU)" };
        var dump = new Command("dump", "Run a scenario file, then print the guest or host page table as a tree of present entries with raw PTEs");
        dump.Arguments.Add(file);
        CliApp.RejectFlagLikeFiles(file);
        dump.Options.Add(stage);
        dump.Options.Add(device);
        dump.SetAction(parseResult => RunDump(parseResult.GetValue(file)!, parseResult.GetValue(stage), parseResult.GetValue(device),
            parseResult.InvocationConfiguration.Output, parseResult.InvocationConfiguration.Error));

        var command = new Command("pagetable", "IO page tables in real formats (VT-d second level, ARM LPAE)");
        command.Subcommands.Add(demo);
        command.Subcommands.Add(dump);
        return command;
    }

    /// <summary>
    /// Runs <paramref name="file"/> and renders the table of <paramref name="stageName"/> to <paramref name="output"/>.
    /// Exit 2 for a bad stage, device or file (<c>FILE:LINE:COLUMN</c>), 1 when the setup or an expectation failed
    /// (the table is still shown after an expectation failure), else 0.
    /// </summary>
    public static int RunDump(string file, string? stageName, string? device, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        TranslationStage stage;
        switch (stageName)
        {
            case "guest":
                stage = TranslationStage.Guest;
                break;
            case "host":
                stage = TranslationStage.Host;
                break;
            default:
                error.WriteLine($"error: unknown stage '{stageName}'; valid stages: guest, host");
                return CliApp.ExitInvalid;
        }

        GuestScenarioExecutor? guest = null;
        ScenarioExecutorRegistry registry = new ScenarioExecutorRegistry()
            .Add(() => new ContainerExecutor())
            .Add(() => new MemoryMapExecutor())
            .Add(() => guest = new GuestScenarioExecutor());
        ScenarioFileResult result = new ScenarioRunner(registry).RunFile(file);
        if (result.Error is { } invalid)
        {
            error.WriteLine(invalid.Message);
            return CliApp.ExitInvalid;
        }

        if (result.SetupFailure is { } setup)
        {
            error.WriteLine(setup);
            return CliApp.ExitFailed;
        }

        if (!guest!.TryGetPageTable(stage, device, out IoPageTable? table, out string? why))
        {
            error.WriteLine($"error: {file}: {why}");
            return CliApp.ExitInvalid;
        }

        var renderer = new PageTableTreeRenderer(PageTableTreeRenderer.CreateConsole(output));
        string owner = stage == TranslationStage.Guest
            ? $"guest stage: {guest.Domain} in guest RAM{(device is null ? "" : $", device {device} ({guest.Devices[device].Guest!.DeviceName})")}"
            : "host stage: the container's IOMMU domain";
        // Plain text, not through the console: a long file path must not wrap the line at the console width.
        output.WriteLine($"{file}: {result.Passed} passed, {result.Failed} failed; {owner}");
        renderer.RenderTree(table);
        return result.Failed == 0 ? CliApp.ExitOk : CliApp.ExitFailed;
    }

    private static int RunDemo(ParseResult parseResult, string? formatName)
    {
        TextWriter output = parseResult.InvocationConfiguration.Output;
        if (!PageTableFormats.TryParse(formatName, out PageTableFormat format))
        {
            parseResult.InvocationConfiguration.Error.WriteLine(
                $"error: unknown page-table format '{formatName}'; valid formats: {PageTableFormats.ValidNames}");
            return CliApp.ExitInvalid;
        }

        var frames = new FrameAllocator(new PhysicalMemory());
        IoPageTable table = IoPageTable.Create(format, frames);
        ulong top = table.AddressRange.Last;
        ulong topPage = top - (PageSizes.Size4K - 1);

        // pa values are aligned like their IOVA so the 2M and 1G ranges become single huge leaves.
        table.Map(IovaRange.FromStartSize(0x1000, PageSizes.Size4K), 0x8000_1000, Permissions.Read);
        table.Map(IovaRange.FromStartSize(PageSizes.Size2M, PageSizes.Size2M), 0x1_0020_0000, Permissions.ReadWrite);
        table.Map(IovaRange.FromStartSize(PageSizes.Size1G, PageSizes.Size1G), 0x2_0000_0000, Permissions.ReadWrite);
        table.Map(IovaRange.FromStartSize(topPage, PageSizes.Size4K), 0x3_0000_0000, Permissions.Read);

        var renderer = new PageTableTreeRenderer(PageTableTreeRenderer.CreateConsole(output));
        renderer.RenderTree(table);
        renderer.RenderTranslations(table,
        [
            0x1234,                          // inside the 4K page
            PageSizes.Size2M + 0x1234,       // inside the 2M leaf
            PageSizes.Size1G + 0x1234_5678,  // inside the 1G leaf
            top,                             // last byte of the address space
            0x8000_0000,                     // nothing mapped: faults
            top + 1,                         // beyond the address width: faults
        ]);
        return CliApp.ExitOk;
    }
}
