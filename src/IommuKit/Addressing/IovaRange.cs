using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace IommuKit.Addressing;

/// <summary>
/// An inclusive range <c>[First, Last]</c> of a 64-bit address space (IOVA, guest-physical or host-physical).
/// </summary>
/// <remarks>
/// <para>Invariants: <c>First &lt;= Last</c>, so a range is never empty and <see cref="Size"/> is in
/// <c>1 .. 2^64</c>. The full space <c>[0, 2^64-1]</c> is <see cref="Full"/>, an ordinary value of size 2^64.</para>
/// <para>Why inclusive: an exclusive end of a range that reaches the top of the space is 2^64, which does not
/// fit in 64 bits. QEMU overflowed on exactly that (vfio region_add of a UINT64_MAX IOMMU region, 2016) and
/// the Linux type1 driver compared against <c>iova + size</c>, which is 0 for such a mapping, until v6.18-rc4.
/// Sizes are therefore <see cref="UInt128"/> and ends are never computed as <c>First + Size</c> in 64 bits.</para>
/// <para>An empty result (an intersection of disjoint ranges, an inward alignment that leaves nothing) is
/// reported through a <c>Try</c> method returning <see langword="false"/>, never through a sentinel value.</para>
/// </remarks>
public readonly struct IovaRange : IEquatable<IovaRange>, IComparable<IovaRange>
{
    /// <summary>2^64, the size of <see cref="Full"/>.</summary>
    public static readonly UInt128 SpaceSize = (UInt128)1 << 64;

    /// <summary>The whole 64-bit space <c>[0, 2^64-1]</c>, size 2^64.</summary>
    public static readonly IovaRange Full = new(0, ulong.MaxValue);

    private IovaRange(ulong first, ulong last)
    {
        First = first;
        Last = last;
    }

    /// <summary>The first address in the range.</summary>
    public ulong First { get; }

    /// <summary>The last address in the range (inclusive).</summary>
    public ulong Last { get; }

    /// <summary>The number of addresses, 1 .. 2^64. Computed in 128 bits: <c>Last - First + 1</c> cannot overflow there.</summary>
    public UInt128 Size => (UInt128)(Last - First) + 1;

    /// <summary>The exclusive end <c>Last + 1</c> in 128 bits; 2^64 for a range that reaches the top of the space.</summary>
    public UInt128 End => (UInt128)Last + 1;

    /// <summary>True when this range is <see cref="Full"/>.</summary>
    public bool IsFull => First == 0 && Last == ulong.MaxValue;

    /// <summary>Creates <c>[first, last]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="last"/> is below <paramref name="first"/>.</exception>
    public static IovaRange FromFirstLast(ulong first, ulong last)
    {
        if (last < first)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(last),
                $"last {ThrowHelper.Hex(last)} is below first {ThrowHelper.Hex(first)}: an inclusive range cannot be empty");
        }

        return new IovaRange(first, last);
    }

    /// <summary>Creates <c>[first, last]</c>, or returns false when <paramref name="last"/> is below <paramref name="first"/>.</summary>
    public static bool TryFromFirstLast(ulong first, ulong last, out IovaRange range)
    {
        range = new IovaRange(first, Math.Max(first, last));
        return last >= first;
    }

    /// <summary>Creates the range of <paramref name="size"/> addresses starting at <paramref name="start"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is 0, or <c>start + size</c> exceeds 2^64.</exception>
    public static IovaRange FromStartSize(ulong start, UInt128 size)
    {
        if (!TryFromStartSize(start, size, out IovaRange range))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(size), size == 0
                ? "size is 0: a range holds at least one address"
                : $"start {ThrowHelper.Hex(start)} + size {ThrowHelper.Hex(size)} exceeds 2^64");
        }

        return range;
    }

    /// <summary>
    /// Creates the range of <paramref name="size"/> addresses starting at <paramref name="start"/>, or returns false
    /// when <paramref name="size"/> is 0 or the range would pass 2^64.
    /// </summary>
    public static bool TryFromStartSize(ulong start, UInt128 size, out IovaRange range)
    {
        // start <= 2^64-1 and size <= 2^128-1: compare size against the room left, 2^64 - start, which cannot
        // overflow in 128 bits; then start + size - 1 <= 2^64 - 1 fits in 64 bits.
        if (size == 0 || size > SpaceSize - start)
        {
            range = default;
            return false;
        }

        range = new IovaRange(start, (ulong)(start + size - 1));
        return true;
    }

    /// <summary>True when <paramref name="address"/> is inside the range.</summary>
    public bool Contains(ulong address) => address >= First && address <= Last;

    /// <summary>True when every address of <paramref name="other"/> is inside this range.</summary>
    public bool Contains(IovaRange other) => other.First >= First && other.Last <= Last;

    /// <summary>True when the two ranges share at least one address.</summary>
    public bool Overlaps(IovaRange other) => other.First <= Last && other.Last >= First;

    /// <summary>True when <paramref name="other"/> starts right after this range ends (no gap, no overlap).</summary>
    public bool IsFollowedBy(IovaRange other) => Last != ulong.MaxValue && other.First == Last + 1;

    /// <summary>The common part of the two ranges; false when they are disjoint.</summary>
    public bool TryIntersect(IovaRange other, out IovaRange intersection)
    {
        ulong first = Math.Max(First, other.First);
        ulong last = Math.Min(Last, other.Last);
        return TryFromFirstLast(first, last, out intersection);
    }

    /// <summary>
    /// This range minus <paramref name="other"/>: zero, one or two pieces, the one below <paramref name="other"/>
    /// and the one above it.
    /// </summary>
    public (IovaRange? Below, IovaRange? Above) Subtract(IovaRange other)
    {
        if (!Overlaps(other))
        {
            return (this, null);
        }

        // other.First > First implies other.First >= 1, so other.First - 1 cannot underflow; likewise
        // other.Last < Last implies other.Last + 1 <= ulong.MaxValue.
        IovaRange? below = other.First > First ? new IovaRange(First, other.First - 1) : null;
        IovaRange? above = other.Last < Last ? new IovaRange(other.Last + 1, Last) : null;
        return (below, above);
    }

    /// <summary>True when <c>First</c> and <c>Last + 1</c> are multiples of <paramref name="alignment"/> (a power of two).</summary>
    public bool IsAligned(ulong alignment)
    {
        ValidatePowerOfTwo(alignment);
        ulong mask = alignment - 1;
        // (Last + 1) % alignment == 0  <=>  Last % alignment == alignment - 1, which avoids Last + 1 overflowing.
        return (First & mask) == 0 && (Last & mask) == mask;
    }

    /// <summary>
    /// The smallest range containing this one whose ends are multiples of <paramref name="alignment"/> (a power of two).
    /// Never overflows: <c>Last | (alignment - 1)</c> is at most 2^64-1.
    /// </summary>
    /// <example>Outward 4K alignment of <c>[2^64-4096+1, 2^64-1]</c> is <c>[2^64-4096, 2^64-1]</c>.</example>
    public IovaRange AlignOutward(ulong alignment)
    {
        ValidatePowerOfTwo(alignment);
        ulong mask = alignment - 1;
        return new IovaRange(First & ~mask, Last | mask);
    }

    /// <summary>
    /// The largest range inside this one whose ends are multiples of <paramref name="alignment"/> (a power of two);
    /// false when no whole aligned block fits.
    /// </summary>
    public bool TryAlignInward(ulong alignment, out IovaRange aligned)
    {
        ValidatePowerOfTwo(alignment);
        ulong mask = alignment - 1;

        // Round First up in 128 bits: First + mask may pass 2^64.
        UInt128 first = ((UInt128)First + mask) & ~(UInt128)mask;

        // Round End (= Last + 1, up to 2^64) down, then step back one address.
        UInt128 end = End & ~(UInt128)mask;
        if (end <= first)
        {
            aligned = default;
            return false;
        }

        aligned = new IovaRange((ulong)first, (ulong)(end - 1));
        return true;
    }

    /// <summary>
    /// Splits the range into the chunks an IOMMU would map it with: at each position the largest page size of
    /// <paramref name="pageSizes"/> to which both the IOVA and the matching physical address are aligned and which
    /// fits in what remains (the kernel's <c>iommu_pgsize</c> choice).
    /// </summary>
    /// <param name="pageSizes">The page sizes allowed.</param>
    /// <param name="pa">The physical address matching <see cref="First"/>; chunks keep the same offset from it.</param>
    /// <exception cref="ArgumentException">The range or <paramref name="pa"/> is not aligned to the smallest page size.</exception>
    public IovaChunkEnumerable Chunks(PageSizes pageSizes, ulong pa = 0)
    {
        ulong smallest = pageSizes.Smallest;
        if (smallest == 0)
        {
            ThrowHelper.ThrowArgument(nameof(pageSizes), "the page-size set is empty");
        }

        if (!IsAligned(smallest) || (pa & (smallest - 1)) != 0)
        {
            ThrowHelper.ThrowArgument(nameof(pageSizes),
                $"range {this} / pa {ThrowHelper.Hex(pa)} is not aligned to the smallest page size {ThrowHelper.Hex(smallest)}");
        }

        return new IovaChunkEnumerable(this, pageSizes, pa);
    }

    /// <inheritdoc />
    public bool Equals(IovaRange other) => First == other.First && Last == other.Last;

    /// <inheritdoc />
    public override bool Equals([NotNullWhen(true)] object? obj) => obj is IovaRange other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(First, Last);

    /// <summary>Orders by <see cref="First"/>, then by <see cref="Last"/>.</summary>
    public int CompareTo(IovaRange other)
    {
        int c = First.CompareTo(other.First);
        return c != 0 ? c : Last.CompareTo(other.Last);
    }

    /// <summary>Equality of both ends.</summary>
    public static bool operator ==(IovaRange left, IovaRange right) => left.Equals(right);

    /// <summary>Inequality of either end.</summary>
    public static bool operator !=(IovaRange left, IovaRange right) => !left.Equals(right);

    /// <summary>Orders by <see cref="First"/>, then <see cref="Last"/>.</summary>
    public static bool operator <(IovaRange left, IovaRange right) => left.CompareTo(right) < 0;

    /// <summary>Orders by <see cref="First"/>, then <see cref="Last"/>.</summary>
    public static bool operator >(IovaRange left, IovaRange right) => left.CompareTo(right) > 0;

    /// <summary>Orders by <see cref="First"/>, then <see cref="Last"/>.</summary>
    public static bool operator <=(IovaRange left, IovaRange right) => left.CompareTo(right) <= 0;

    /// <summary>Orders by <see cref="First"/>, then <see cref="Last"/>.</summary>
    public static bool operator >=(IovaRange left, IovaRange right) => left.CompareTo(right) >= 0;

    /// <summary>Formats as <c>[0x1000, 0x1fff]</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"[0x{First:x}, 0x{Last:x}]");

    private static void ValidatePowerOfTwo(ulong alignment)
    {
        if (!BitOperations.IsPow2(alignment))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(alignment), $"alignment {ThrowHelper.Hex(alignment)} is not a power of two");
        }
    }
}
