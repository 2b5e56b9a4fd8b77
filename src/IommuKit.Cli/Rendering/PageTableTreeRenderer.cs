using System.Globalization;
using IommuKit.Addressing;
using IommuKit.PageTables;
using Spectre.Console;

namespace IommuKit.Cli.Rendering;

/// <summary>
/// Renders an <see cref="IoPageTable"/> as a Spectre.Console tree of its present entries (tables and leaves) and
/// translation results as a table. Output goes to the injected console, so tests render into a string.
/// </summary>
public sealed class PageTableTreeRenderer
{
    private readonly IAnsiConsole _console;

    /// <summary>Creates a renderer writing to <paramref name="console"/>.</summary>
    public PageTableTreeRenderer(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        _console = console;
    }

    /// <summary>Creates a console writing plain text to <paramref name="writer"/> (no ANSI when it is not a terminal).</summary>
    public static IAnsiConsole CreateConsole(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });
        if (!ReferenceEquals(writer, Console.Out) || Console.IsOutputRedirected)
        {
            console.Profile.Width = 160; // redirected output has no terminal width: keep tree lines whole
        }

        return console;
    }

    /// <summary>Writes the tree of present entries: level, entry index, table pa; for leaves size, IOVA range, pa and permissions.</summary>
    public void RenderTree(IoPageTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var tree = new Tree(Markup.Escape(
            $"{PageTableFormats.Name(table.Format)}: {table.Levels} levels, {table.AddressWidth}-bit IOVA {table.AddressRange}, "
            + $"{table.TablePages} table pages"));
        var visitor = new TreeVisitor(tree, table);
        table.Visit(IovaRange.Full, ref visitor);
        _console.Write(tree);
    }

    /// <summary>Writes a table with the translation of each IOVA (present or the reason it faults).</summary>
    public void RenderTranslations(IoPageTable table, IEnumerable<ulong> iovas)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(iovas);
        var grid = new Table().AddColumns("IOVA", "result", "PA", "leaf", "level", "perms");
        foreach (ulong iova in iovas)
        {
            PageTranslation t = table.Translate(iova);
            grid.AddRow(
                Hex(iova),
                t.IsPresent ? "present" : $"fault: {t.Status}",
                t.IsPresent ? Hex(t.Pa) : "-",
                t.IsPresent ? PageSizes.FormatSize(t.LeafSize) : "-",
                LevelName(table.Format, t.Level),
                t.IsPresent ? Perms(t.Permissions) : "-");
        }

        _console.Write(grid);
    }

    /// <summary>Writes one line of text.</summary>
    public void WriteLine(string text) => _console.WriteLine(text);

    private static string Hex(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    private static string Perms(Permissions p) =>
        ((p & Permissions.Read) != 0 ? "R" : "-") + ((p & Permissions.Write) != 0 ? "W" : "-");

    /// <summary>"L3"; ARM tables also show the architecture's lookup level (4 - L).</summary>
    private static string LevelName(PageTableFormat format, int level) =>
        format == PageTableFormat.ArmLpae48
            ? string.Create(CultureInfo.InvariantCulture, $"L{level} (ARM {4 - level})")
            : string.Create(CultureInfo.InvariantCulture, $"L{level}");

    /// <summary>Builds tree nodes in walk order: a table nests under the latest table one level up.</summary>
    private struct TreeVisitor : IPageTableVisitor
    {
        private readonly Tree _tree;
        private readonly IoPageTable _table;
        private readonly TreeNode?[] _byLevel;
        private readonly ulong[] _tablePaByLevel;

        public TreeVisitor(Tree tree, IoPageTable table)
        {
            _tree = tree;
            _table = table;
            _byLevel = new TreeNode?[table.Levels + 2];
            _tablePaByLevel = new ulong[table.Levels + 2];
        }

        public readonly void VisitTable(ulong tablePa, int level, ulong iovaBase)
        {
            string name = LevelName(_table.Format, level);
            _tablePaByLevel[level] = tablePa;
            if (level == _table.Levels)
            {
                _byLevel[level] = _tree.AddNode(Markup.Escape($"root {name} table @ {Hex(tablePa)}"));
                return;
            }

            // iovaBase + span - 1 stays below 2^57: the table lies inside the address range.
            ulong last = iovaBase + ((PageTableLayout.EntrySpan(level) << PageTableLayout.LevelBits) - 1);
            int index = PageTableLayout.EntryIndex(iovaBase, level + 1);
            string label = $"[{index}] {name} table @ {Hex(tablePa)} covers [{Hex(iovaBase)}, {Hex(last)}]{RawEntry(level + 1, index)}";
            TreeNode? parent = _byLevel[level + 1];
            _byLevel[level] = parent is null ? _tree.AddNode(Markup.Escape(label)) : parent.AddNode(Markup.Escape(label));
        }

        private readonly string RawEntry(int level, int index) =>
            _table.TryReadEntry(_tablePaByLevel[level], index, out ulong pte) ? $"  pte {Hex(pte)}" : "";

        public readonly void VisitLeaf(in PageTableLeaf leaf)
        {
            int index = PageTableLayout.EntryIndex(leaf.Iova, leaf.Level);
            string label = $"[{index}] {PageSizes.FormatSize(leaf.LeafSize)} leaf {leaf.Range} -> {Hex(leaf.Pa)} {Perms(leaf.Permissions)}{RawEntry(leaf.Level, index)}";
            TreeNode? parent = _byLevel[leaf.Level];
            if (parent is null)
            {
                _tree.AddNode(Markup.Escape(label));
            }
            else
            {
                parent.AddNode(Markup.Escape(label));
            }
        }
    }
}
