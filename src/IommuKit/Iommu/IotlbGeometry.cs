using System.Numerics;

namespace IommuKit.Iommu;

/// <summary>The shape of an <see cref="Iotlb"/>: total entries and ways (entries per set).</summary>
/// <remarks>Invariants: <c>Entries = Sets × Ways</c>, <c>Ways &gt;= 1</c>, and <see cref="Sets"/> is a power of two
/// (so a set is picked with a mask). <c>new IotlbGeometry(512, 8)</c> has 64 sets of 8 ways; a fully associative
/// IOTLB is <c>new IotlbGeometry(n, n)</c>.</remarks>
public readonly record struct IotlbGeometry
{
    /// <summary>The default geometry: 512 entries, 8 ways (64 sets).</summary>
    public static readonly IotlbGeometry Default = new(512, 8);

    /// <summary>Creates a geometry of <paramref name="entries"/> entries in sets of <paramref name="ways"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="entries"/> or <paramref name="ways"/> is below 1, <paramref name="entries"/> is above 2^24, or
    /// <paramref name="entries"/> is not a multiple of <paramref name="ways"/> giving a power-of-two number of sets.
    /// </exception>
    public IotlbGeometry(int entries, int ways)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(entries, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ways, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(entries, MaxEntries);
        if (entries % ways != 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(ways),
                $"{entries} entries are not a whole number of sets of {ways} ways");
        }

        if (!BitOperations.IsPow2(entries / ways))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(entries),
                $"{entries} entries / {ways} ways = {entries / ways} sets, not a power of two");
        }

        Entries = entries;
        Ways = ways;
    }

    /// <summary>The largest number of entries allowed, 2^24.</summary>
    public const int MaxEntries = 1 << 24;

    /// <summary>Total number of entries.</summary>
    public int Entries { get; }

    /// <summary>Entries per set (associativity).</summary>
    public int Ways { get; }

    /// <summary>Number of sets, a power of two.</summary>
    public int Sets => Entries / Ways;

    /// <summary>Formats as <c>512 entries, 8 ways</c>.</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Entries} entries, {Ways} ways");
}
