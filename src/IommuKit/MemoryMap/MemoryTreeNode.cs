namespace IommuKit.MemoryMap;

/// <summary>
/// One line of an <c>info mtree</c> listing: a region with its absolute address range in the address space.
/// Built by <see cref="MemoryTree.Build(AddressSpace)"/> for renderers (the CLI walks it).
/// </summary>
/// <remarks>Addresses are <see cref="UInt128"/>: a subregion placed near the top of a large container may reach past
/// 2^64 (rendering clips it; the tree shows where it was put). An alias has no children; its target is listed
/// separately (<see cref="MemoryTree.AliasTargets"/>), as QEMU does.</remarks>
public sealed class MemoryTreeNode
{
    internal MemoryTreeNode(MemoryRegion region, UInt128 start, IReadOnlyList<MemoryTreeNode> children)
    {
        Region = region;
        Start = start;
        Children = children;
    }

    /// <summary>The region.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The absolute first address: the sum of the addresses of the region and its ancestors.</summary>
    public UInt128 Start { get; }

    /// <summary>The absolute last address, <c>Start + Size - 1</c> (equal to <see cref="Start"/> for a 0-size region, as QEMU prints it). Start is below depth × 2^64 and Size at most 2^64, so this fits 128 bits.</summary>
    public UInt128 Last => Region.Size == 0 ? Start : Start + Region.Size - 1;

    /// <summary>The region's priority in its container.</summary>
    public int Priority => Region.Priority;

    /// <summary>The region's kind.</summary>
    public MemoryRegionKind Kind => Region.Kind;

    /// <summary>
    /// QEMU's type word: <c>ramd</c>, <c>romd</c>, <c>rom</c>, <c>ram</c> or <c>i/o</c> (an alias shows its
    /// target's), prefixed by <c>nv-</c> for a non-volatile region.
    /// </summary>
    public string TypeName => MemoryTree.TypeName(Region);

    /// <summary>The subregions in rendering order.</summary>
    public IReadOnlyList<MemoryTreeNode> Children { get; }
}
