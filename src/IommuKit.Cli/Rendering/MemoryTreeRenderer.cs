using System.Globalization;
using IommuKit.MemoryMap;
using Spectre.Console;

namespace IommuKit.Cli.Rendering;

/// <summary>
/// Renders an address space like QEMU's <c>info mtree</c> (a Spectre.Console tree of the regions: range, priority,
/// type, name, alias target) and <c>info mtree -f</c> (a table of the flat view).
/// </summary>
public sealed class MemoryTreeRenderer
{
    private readonly IAnsiConsole _console;

    /// <summary>Creates a renderer writing to <paramref name="console"/>.</summary>
    public MemoryTreeRenderer(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
    }

    /// <summary>Writes the region tree, then the flat view.</summary>
    public void Render(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var tree = new Tree(Markup.Escape($"address-space: {space.Name}"));
        Add(tree.AddNode(Label(MemoryTree.Build(space))), MemoryTree.Build(space));
        _console.Write(tree);
        foreach (MemoryRegion target in MemoryTree.AliasTargets(space))
        {
            MemoryTreeNode node = MemoryTree.Build(target, 0);
            var aliasTree = new Tree(Markup.Escape($"memory-region: {target.Name}"));
            Add(aliasTree.AddNode(Label(node)), node);
            _console.Write(aliasTree);
        }

        var table = new Table().Title(Markup.Escape($"FlatView of \"{space.Name}\", root: {space.Root.Name}"))
            .AddColumns("first", "last", "region", "type", "offset in region", "attrs");
        foreach (FlatRange range in space.FlatView.Ranges)
        {
            MemoryRegion mr = range.Region;
            table.AddRow(
                Hex(range.Range.First), Hex(range.Range.Last), Markup.Escape(mr.Name), Markup.Escape(MemoryTreeTypeName(mr)),
                Hex(range.OffsetInRegion), (range.ReadOnly ? "ro " : "") + (range.NonVolatile ? "nv" : ""));
        }

        if (space.FlatView.Ranges.Count == 0)
        {
            table.AddRow("-", "-", "No rendered FlatView", "", "", "");
        }

        _console.Write(table);
    }

    private static void Add(TreeNode parent, MemoryTreeNode node)
    {
        foreach (MemoryTreeNode child in node.Children)
        {
            Add(parent.AddNode(Label(child)), child);
        }
    }

    private static string Label(MemoryTreeNode node)
    {
        MemoryRegion mr = node.Region;
        string range = $"{Hex128(node.Start)}-{Hex128(node.Last)}";
        string alias = mr.AliasTarget is { } target
            ? $" @{target.Name} {Hex(mr.AliasOffset)}"
            : "";
        string state = mr.Enabled ? "" : " [disabled]";
        return Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{range} (prio {mr.Priority}, {node.TypeName}): {mr.Name}{alias}{state}"));
    }

    private static string MemoryTreeTypeName(MemoryRegion mr) => mr.Kind switch
    {
        MemoryRegionKind.Ram => mr.ReadOnly ? "rom" : "ram",
        MemoryRegionKind.Rom => "rom",
        MemoryRegionKind.RamDevice => "ramd",
        MemoryRegionKind.RomDevice => "romd",
        MemoryRegionKind.Iommu => "iommu",
        _ => "i/o",
    };

    private static string Hex(ulong value) => value.ToString("x16", CultureInfo.InvariantCulture);

    private static string Hex128(UInt128 value) => value > ulong.MaxValue
        ? value.ToString("x", CultureInfo.InvariantCulture)
        : ((ulong)value).ToString("x16", CultureInfo.InvariantCulture);
}
