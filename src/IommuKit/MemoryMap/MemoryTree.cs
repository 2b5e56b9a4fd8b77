using System.Globalization;
using System.Text;

namespace IommuKit.MemoryMap;

/// <summary>
/// QEMU's <c>info mtree</c> (region tree) and <c>info mtree -f</c> (flat views) as a data model and as plain text.
/// </summary>
/// <remarks>
/// Text format, one region per line, two spaces of indent per level:
/// <c>0000000000000000-000000007fffffff (prio 0, ram): ram0</c>; an alias adds
/// <c>: alias hi @ram0 0000000040000000-000000007fffffff</c>; a disabled region ends with <c> [disabled]</c>.
/// Flat view lines show the section type (<c>rom</c> when read-only) and <c> @offset</c> when the offset in the
/// region is not 0.
/// </remarks>
public static class MemoryTree
{
    /// <summary>The region tree of <paramref name="space"/>, rooted at its root region (placed at 0).</summary>
    public static MemoryTreeNode Build(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        return Build(space.Root, 0);
    }

    /// <summary>The tree of <paramref name="region"/> with its first byte at <paramref name="start"/>.</summary>
    public static MemoryTreeNode Build(MemoryRegion region, UInt128 start)
    {
        ArgumentNullException.ThrowIfNull(region);
        var children = new List<MemoryTreeNode>(region.Subregions.Count);
        foreach (MemoryRegion sub in region.Subregions)
        {
            // start < 2^64 * depth: no overflow of 128 bits for any tree that fits in memory.
            children.Add(Build(sub, start + sub.Address));
        }

        return new MemoryTreeNode(region, start, children);
    }

    /// <summary>
    /// The alias targets reachable from <paramref name="space"/> that are not themselves in its tree, in the order
    /// first met (QEMU lists them after the address space as <c>memory-region: name</c>).
    /// </summary>
    public static IReadOnlyList<MemoryRegion> AliasTargets(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var inTree = new HashSet<MemoryRegion>();
        var targets = new List<MemoryRegion>();
        var pending = new Queue<MemoryRegion>();
        pending.Enqueue(space.Root);
        Collect(space.Root, inTree);
        while (pending.Count > 0)
        {
            foreach (MemoryRegion alias in Aliases(pending.Dequeue()))
            {
                MemoryRegion target = alias.AliasTarget!;
                if (!inTree.Contains(target) && !targets.Contains(target))
                {
                    targets.Add(target);
                    Collect(target, inTree);
                    pending.Enqueue(target);
                }
            }
        }

        return targets;
    }

    /// <summary>The <c>info mtree</c> text of <paramref name="space"/>, followed by the alias targets.</summary>
    public static string Format(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var sb = new StringBuilder();
        sb.Append("address-space: ").Append(space.Name).Append('\n');
        AppendNode(sb, Build(space), 1);
        foreach (MemoryRegion target in AliasTargets(space))
        {
            sb.Append('\n').Append("memory-region: ").Append(target.Name).Append('\n');
            AppendNode(sb, Build(target, 0), 1);
        }

        return sb.ToString();
    }

    /// <summary>The <c>info mtree -f</c> text of the current flat view of <paramref name="space"/>.</summary>
    public static string FormatFlatView(AddressSpace space)
    {
        ArgumentNullException.ThrowIfNull(space);
        var sb = new StringBuilder();
        sb.Append("FlatView\n");
        sb.Append(" AS \"").Append(space.Name).Append("\", root: ").Append(space.Root.Name).Append('\n');
        if (space.FlatView.Ranges.Count == 0)
        {
            sb.Append("  No rendered FlatView\n");
        }

        foreach (FlatRange range in space.FlatView.Ranges)
        {
            MemoryRegion mr = range.Region;
            sb.Append("  ").Append(Hex(range.Range.First)).Append('-').Append(Hex(range.Range.Last))
                .Append(" (prio ").Append(mr.Priority.ToString(CultureInfo.InvariantCulture)).Append(", ")
                .Append(range.NonVolatile ? "nv-" : "")
                .Append(range.ReadOnly ? "rom" : BaseTypeName(mr))
                .Append("): ").Append(mr.Name);
            if (range.OffsetInRegion != 0)
            {
                sb.Append(" @").Append(Hex(range.OffsetInRegion));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    internal static string TypeName(MemoryRegion region) => (region.NonVolatile ? "nv-" : "") + BaseTypeName(region);

    private static string BaseTypeName(MemoryRegion region)
    {
        // An alias chain is acyclic (MemoryRegion keeps that invariant), so this ends.
        while (region.AliasTarget is { } target)
        {
            region = target;
        }

        return region.IsRamDevice ? "ramd"
            : region.IsRomd ? "romd"
            : region.IsRom ? "rom"
            : region.IsRam ? "ram"
            : "i/o";
    }

    private static void AppendNode(StringBuilder sb, MemoryTreeNode node, int depth)
    {
        MemoryRegion mr = node.Region;
        sb.Append(' ', 2 * depth).Append(Hex(node.Start)).Append('-').Append(Hex(node.Last))
            .Append(" (prio ").Append(mr.Priority.ToString(CultureInfo.InvariantCulture)).Append(", ")
            .Append(node.TypeName).Append("): ");
        if (mr.AliasTarget is { } target)
        {
            // AliasOffset < 2^64 and Size <= 2^64: the sum fits 128 bits.
            UInt128 aliasLast = mr.Size == 0 ? mr.AliasOffset : mr.AliasOffset + mr.Size - 1;
            sb.Append("alias ").Append(mr.Name).Append(" @").Append(target.Name).Append(' ')
                .Append(Hex(mr.AliasOffset)).Append('-').Append(Hex(aliasLast));
        }
        else
        {
            sb.Append(mr.Name);
        }

        if (!mr.Enabled)
        {
            sb.Append(" [disabled]");
        }

        sb.Append('\n');
        foreach (MemoryTreeNode child in node.Children)
        {
            AppendNode(sb, child, depth + 1);
        }
    }

    private static void Collect(MemoryRegion region, HashSet<MemoryRegion> set)
    {
        set.Add(region);
        foreach (MemoryRegion sub in region.Subregions)
        {
            Collect(sub, set);
        }
    }

    private static IEnumerable<MemoryRegion> Aliases(MemoryRegion region)
    {
        if (region.IsAlias)
        {
            yield return region;
        }

        foreach (MemoryRegion sub in region.Subregions)
        {
            foreach (MemoryRegion alias in Aliases(sub))
            {
                yield return alias;
            }
        }
    }

    private static string Hex(UInt128 value) => value.ToString("x16", CultureInfo.InvariantCulture);
}
