using System.CommandLine;
using IommuKit.Addressing;
using IommuKit.Cli.Rendering;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Cli.Commands;

/// <summary>The <c>iommukit pagetable</c> verb: <c>demo</c> builds a small IO page table and shows it.</summary>
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

        var command = new Command("pagetable", "IO page tables in real formats (VT-d second level, ARM LPAE)");
        command.Subcommands.Add(demo);
        return command;
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
