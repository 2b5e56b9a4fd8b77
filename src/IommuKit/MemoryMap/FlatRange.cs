using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using IommuKit.Addressing;

namespace IommuKit.MemoryMap;

/// <summary>
/// One range of a <see cref="FlatView"/> (QEMU's <c>FlatRange</c>): a piece of the address space and the terminating
/// region that answers there.
/// </summary>
/// <remarks>Equality is QEMU's <c>flatrange_equal</c>: same region, same addresses, same offset in the region, same
/// romd mode, read-only and non-volatile flags. A listener is told <c>region_nop</c> for a range equal in the old and
/// the new view, <c>region_del</c>/<c>region_add</c> otherwise.</remarks>
public readonly struct FlatRange : IEquatable<FlatRange>
{
    internal FlatRange(MemoryRegion region, IovaRange range, ulong offsetInRegion, bool readOnly, bool nonVolatile, bool romdMode)
    {
        Region = region;
        Range = range;
        OffsetInRegion = offsetInRegion;
        ReadOnly = readOnly;
        NonVolatile = nonVolatile;
        RomdMode = romdMode;
    }

    /// <summary>The terminating region (never an alias or a pure container).</summary>
    public MemoryRegion Region { get; }

    /// <summary>The addresses covered in the address space.</summary>
    public IovaRange Range { get; }

    /// <summary>The offset within <see cref="Region"/> of <c>Range.First</c>.</summary>
    public ulong OffsetInRegion { get; }

    /// <summary>Read-only, inherited downward through containers and aliases.</summary>
    public bool ReadOnly { get; }

    /// <summary>Non-volatile, inherited downward through containers and aliases.</summary>
    public bool NonVolatile { get; }

    /// <summary>The region's romd mode when the range was rendered (true for every region but a ROM device switched to MMIO).</summary>
    public bool RomdMode { get; }

    /// <summary>The section a listener sees for this range.</summary>
    public MemoryRegionSection ToSection() => new(Region, Range, OffsetInRegion, ReadOnly, NonVolatile);

    /// <summary>QEMU's <c>flatrange_equal</c>.</summary>
    public bool Equals(FlatRange other) =>
        ReferenceEquals(Region, other.Region) && Range == other.Range && OffsetInRegion == other.OffsetInRegion
        && RomdMode == other.RomdMode && ReadOnly == other.ReadOnly && NonVolatile == other.NonVolatile;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is FlatRange other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Region, Range, OffsetInRegion, ReadOnly, NonVolatile, RomdMode);

    /// <summary>QEMU's <c>flatrange_equal</c>.</summary>
    public static bool operator ==(FlatRange left, FlatRange right) => left.Equals(right);

    /// <summary>Negation of QEMU's <c>flatrange_equal</c>.</summary>
    public static bool operator !=(FlatRange left, FlatRange right) => !left.Equals(right);

    /// <summary>Formats as <c>[0x0, 0xfff] ram0 @0x0</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Range} {Region?.Name} @0x{OffsetInRegion:x}{(ReadOnly ? " ro" : "")}{(NonVolatile ? " nv" : "")}{(RomdMode ? "" : " !romd")}");
}
