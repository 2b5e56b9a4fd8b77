using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using IommuKit.Addressing;

namespace IommuKit.MemoryMap;

/// <summary>
/// What a memory listener is told about one range of an address space's flat view (QEMU's
/// <c>MemoryRegionSection</c>): the terminating region that owns it, where it sits in the address space and in the
/// region, its size and the inherited attributes.
/// </summary>
/// <remarks>
/// <para>Invariants: <see cref="Size"/> is in <c>1 .. 2^64</c> and <c>OffsetWithinAddressSpace + Size &lt;= 2^64</c>,
/// so <see cref="Range"/> always exists. A section of exactly 2^64 bytes (a whole-space IOMMU region) is an ordinary
/// value: <c>Size == 2^64</c>, <c>Range.Last == 0xffff_ffff_ffff_ffff</c>.</para>
/// <para><see cref="Region"/> is never an alias or a container: listeners see the alias target.</para>
/// </remarks>
public readonly struct MemoryRegionSection : IEquatable<MemoryRegionSection>
{
    /// <summary>Creates a section.</summary>
    /// <param name="region">The terminating region.</param>
    /// <param name="offsetWithinAddressSpace">The first address of the section in the address space.</param>
    /// <param name="offsetWithinRegion">The offset of that first address within <paramref name="region"/>.</param>
    /// <param name="size">The size, 1 .. 2^64, not passing the end of the address space.</param>
    /// <param name="readOnly">Whether the section is read-only (inherited through containers and aliases).</param>
    /// <param name="nonVolatile">Whether the section is non-volatile (inherited likewise).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is 0 or the section passes 2^64.</exception>
    public MemoryRegionSection(MemoryRegion region, ulong offsetWithinAddressSpace, ulong offsetWithinRegion, UInt128 size,
        bool readOnly, bool nonVolatile)
        : this(region, IovaRange.FromStartSize(offsetWithinAddressSpace, size), offsetWithinRegion, readOnly, nonVolatile)
    {
    }

    internal MemoryRegionSection(MemoryRegion region, IovaRange range, ulong offsetWithinRegion, bool readOnly, bool nonVolatile)
    {
        ArgumentNullException.ThrowIfNull(region);
        Region = region;
        Range = range;
        OffsetWithinRegion = offsetWithinRegion;
        ReadOnly = readOnly;
        NonVolatile = nonVolatile;
    }

    /// <summary>The terminating region (RAM, ROM, ROM device, I/O, IOMMU or ram_device) the section belongs to.</summary>
    public MemoryRegion Region { get; }

    /// <summary>The addresses the section covers in the address space.</summary>
    public IovaRange Range { get; }

    /// <summary>The first address of the section in the address space (QEMU's <c>offset_within_address_space</c>).</summary>
    public ulong OffsetWithinAddressSpace => Range.First;

    /// <summary>The offset of <see cref="OffsetWithinAddressSpace"/> inside <see cref="Region"/>.</summary>
    public ulong OffsetWithinRegion { get; }

    /// <summary>The size, 1 .. 2^64.</summary>
    public UInt128 Size => Range.Size;

    /// <summary>Whether the section is read-only: the region's own flag or-ed with every container and alias above it.</summary>
    public bool ReadOnly { get; }

    /// <summary>Whether the section is non-volatile, inherited like <see cref="ReadOnly"/>.</summary>
    public bool NonVolatile { get; }

    /// <inheritdoc />
    public bool Equals(MemoryRegionSection other) =>
        ReferenceEquals(Region, other.Region) && Range == other.Range && OffsetWithinRegion == other.OffsetWithinRegion
        && ReadOnly == other.ReadOnly && NonVolatile == other.NonVolatile;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is MemoryRegionSection other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Region, Range, OffsetWithinRegion, ReadOnly, NonVolatile);

    /// <summary>Equality of every field (the region by reference).</summary>
    public static bool operator ==(MemoryRegionSection left, MemoryRegionSection right) => left.Equals(right);

    /// <summary>Inequality of any field.</summary>
    public static bool operator !=(MemoryRegionSection left, MemoryRegionSection right) => !left.Equals(right);

    /// <summary>Formats as <c>ram0 [0x1000, 0x1fff] @0x0 ro</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture,
            $"{Region?.Name} {Range} @0x{OffsetWithinRegion:x}{(ReadOnly ? " ro" : "")}{(NonVolatile ? " nv" : "")}");
}
