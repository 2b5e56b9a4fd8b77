using System.Runtime.InteropServices;

namespace IommuKit.PageTables;

/// <summary>A present leaf seen by <see cref="IoPageTable.Visit{TVisitor}(Addressing.IovaRange, ref TVisitor)"/>, clipped to the visited range.</summary>
/// <remarks><see cref="Iova"/>, <see cref="Pa"/> and <see cref="Size"/> describe the part inside the visited range;
/// <see cref="LeafSize"/> is the whole leaf's size, so a clipped leaf has <c>Size &lt; LeafSize</c>.</remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct PageTableLeaf : IEquatable<PageTableLeaf>
{
    /// <summary>Creates a leaf record.</summary>
    public PageTableLeaf(ulong iova, ulong pa, ulong size, ulong leafSize, int level, Permissions permissions)
    {
        Iova = iova;
        Pa = pa;
        Size = size;
        LeafSize = leafSize;
        Level = level;
        Permissions = permissions;
    }

    /// <summary>First IOVA (inside the visited range).</summary>
    public ulong Iova { get; }

    /// <summary>The physical address <see cref="Iova"/> maps to.</summary>
    public ulong Pa { get; }

    /// <summary>Bytes of the leaf inside the visited range (at most <see cref="LeafSize"/>, so it fits in 64 bits).</summary>
    public ulong Size { get; }

    /// <summary>The whole leaf's size: 4K, 2M or 1G.</summary>
    public ulong LeafSize { get; }

    /// <summary>The leaf's level: 1 (4K), 2 (2M), 3 (1G).</summary>
    public int Level { get; }

    /// <summary>The effective permissions.</summary>
    public Permissions Permissions { get; }

    /// <summary>The IOVA range covered (inside the visited range).</summary>
    public Addressing.IovaRange Range => Addressing.IovaRange.FromStartSize(Iova, Size);

    /// <inheritdoc />
    public bool Equals(PageTableLeaf other) =>
        Iova == other.Iova && Pa == other.Pa && Size == other.Size && LeafSize == other.LeafSize && Level == other.Level && Permissions == other.Permissions;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PageTableLeaf other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Iova, Pa, Size, LeafSize, Level, Permissions);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(PageTableLeaf left, PageTableLeaf right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    public static bool operator !=(PageTableLeaf left, PageTableLeaf right) => !left.Equals(right);

    /// <summary>Formats as <c>[0x0, 0xfff] -> 0x1000 (4K leaf, L1, ReadWrite)</c>.</summary>
    public override string ToString() =>
        $"{Range} -> {ThrowHelper.Hex(Pa)} ({Addressing.PageSizes.FormatSize(LeafSize)} leaf, L{Level}, {Permissions})";
}
