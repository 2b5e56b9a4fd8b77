using System.Globalization;
using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>One cached leaf translation: a whole leaf (4 KiB, 2 MiB, 1 GiB, ...) is one entry.</summary>
/// <remarks>Invariants: <see cref="LeafSize"/> is a power of two of at least <see cref="Iotlb.MinLeafSize"/>, and
/// <see cref="IovaBase"/> is a multiple of it, so the leaf's last IOVA <c>IovaBase + LeafSize - 1</c> cannot pass
/// 2^64 - 1.</remarks>
public readonly struct IotlbEntry : IEquatable<IotlbEntry>
{
    /// <summary>Creates an entry.</summary>
    /// <param name="iovaBase">First IOVA of the leaf.</param>
    /// <param name="paBase">Physical address of the leaf's first byte.</param>
    /// <param name="leafSize">The leaf's size.</param>
    /// <param name="permissions">What the leaf allows.</param>
    /// <param name="generation">The mapping's generation (the domain's change sequence when the entry was filled).</param>
    public IotlbEntry(ulong iovaBase, ulong paBase, ulong leafSize, Permissions permissions, long generation)
    {
        IovaBase = iovaBase;
        PaBase = paBase;
        LeafSize = leafSize;
        Generation = generation;
        Permissions = permissions;
    }

    /// <summary>First IOVA of the leaf.</summary>
    public ulong IovaBase { get; }

    /// <summary>Physical address of the leaf's first byte.</summary>
    public ulong PaBase { get; }

    /// <summary>The leaf's size in bytes.</summary>
    public ulong LeafSize { get; }

    /// <summary>The generation of the mapping the entry was filled from; used to tell stale entries.</summary>
    public long Generation { get; }

    /// <summary>What the leaf allows.</summary>
    public Permissions Permissions { get; }

    /// <summary>The IOVAs the entry covers.</summary>
    public IovaRange Range => IovaRange.FromStartSize(IovaBase, LeafSize);

    /// <summary>
    /// The physical address of <paramref name="iova"/>, which must lie in <see cref="Range"/>:
    /// <c>PaBase + (iova - IovaBase)</c>, below <c>PaBase + LeafSize</c>.
    /// </summary>
    public ulong Translate(ulong iova) => PaBase + (iova - IovaBase);

    /// <inheritdoc />
    public bool Equals(IotlbEntry other) =>
        IovaBase == other.IovaBase && PaBase == other.PaBase && LeafSize == other.LeafSize &&
        Generation == other.Generation && Permissions == other.Permissions;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is IotlbEntry other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(IovaBase, PaBase, LeafSize, Generation, Permissions);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(IotlbEntry left, IotlbEntry right) => left.Equals(right);

    /// <summary>Inequality of any field.</summary>
    public static bool operator !=(IotlbEntry left, IotlbEntry right) => !left.Equals(right);

    /// <summary>Formats as <c>0x200000 -> 0x40000000 2M rw gen 3</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{ThrowHelper.Hex(IovaBase)} -> {ThrowHelper.Hex(PaBase)} {PageSizes.FormatSize(LeafSize)} {Permissions} gen {Generation}");
}
