using System.Globalization;
using System.Numerics;
using System.Text;

namespace IommuKit.Addressing;

/// <summary>
/// A set of supported page sizes as a bitmap, bit N meaning 2^N bytes (the kernel's <c>pgsize_bitmap</c>).
/// </summary>
/// <remarks>Only powers of two from 1 byte to 2^63 bytes can be members; the empty set is allowed as a value.</remarks>
public readonly struct PageSizes : IEquatable<PageSizes>
{
    /// <summary>log2 of the 4 KiB base page.</summary>
    public const int PageBits = 12;

    /// <summary>4 KiB.</summary>
    public const ulong Size4K = 1UL << PageBits;

    /// <summary>2 MiB = 4 KiB × 512 (one level of 9 bits up).</summary>
    public const ulong Size2M = Size4K << 9;

    /// <summary>1 GiB = 2 MiB × 512.</summary>
    public const ulong Size1G = Size2M << 9;

    /// <summary>512 GiB = 1 GiB × 512.</summary>
    public const ulong Size512G = Size1G << 9;

    /// <summary>4 KiB only.</summary>
    public static readonly PageSizes Only4K = new(Size4K);

    /// <summary>4 KiB, 2 MiB and 1 GiB: the leaf sizes of VT-d second-level and ARM LPAE 4K-granule tables.</summary>
    public static readonly PageSizes X86 = new(Size4K | Size2M | Size1G);

    /// <summary>Creates the set from a bitmap (bit N = 2^N bytes).</summary>
    public PageSizes(ulong bitmap) => Bitmap = bitmap;

    /// <summary>The bitmap, bit N meaning 2^N bytes.</summary>
    public ulong Bitmap { get; }

    /// <summary>True when the set has no size.</summary>
    public bool IsEmpty => Bitmap == 0;

    /// <summary>The smallest size, or 0 for the empty set.</summary>
    public ulong Smallest => Bitmap & (~Bitmap + 1);

    /// <summary>The largest size, or 0 for the empty set.</summary>
    public ulong Largest => Bitmap == 0 ? 0 : 1UL << (63 - BitOperations.LeadingZeroCount(Bitmap));

    /// <summary>The number of sizes in the set.</summary>
    public int Count => BitOperations.PopCount(Bitmap);

    /// <summary>True when <paramref name="size"/> is a member.</summary>
    public bool Contains(ulong size) => BitOperations.IsPow2(size) && (Bitmap & size) != 0;

    /// <summary>Creates the set of the given sizes, each a power of two.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not a power of two.</exception>
    public static PageSizes Of(params ReadOnlySpan<ulong> sizes)
    {
        ulong bitmap = 0;
        foreach (ulong size in sizes)
        {
            if (!BitOperations.IsPow2(size))
            {
                ThrowHelper.ThrowArgumentOutOfRange(nameof(sizes), $"page size {ThrowHelper.Hex(size)} is not a power of two");
            }

            bitmap |= size;
        }

        return new PageSizes(bitmap);
    }

    /// <summary>The sizes in both sets (what every attached domain supports).</summary>
    public PageSizes Intersect(PageSizes other) => new(Bitmap & other.Bitmap);

    /// <summary>The sizes in either set.</summary>
    public PageSizes Union(PageSizes other) => new(Bitmap | other.Bitmap);

    /// <summary>The sizes of this set that are at least <paramref name="minimum"/>.</summary>
    public PageSizes AtLeast(ulong minimum) => minimum == 0 ? this : new(Bitmap & ~(BitOperations.RoundUpToPowerOf2(minimum) - 1));

    /// <summary>
    /// The largest member to which both <paramref name="iova"/> and <paramref name="pa"/> are aligned and that is
    /// not larger than <paramref name="remaining"/> bytes; 0 when none fits.
    /// </summary>
    /// <remarks>The same choice as the kernel's <c>iommu_pgsize()</c>: alignment of <c>iova | pa</c> caps the size.</remarks>
    public ulong LargestFor(ulong iova, ulong pa, UInt128 remaining)
    {
        ulong candidates = Bitmap;

        // Sizes up to the lowest set bit of (iova | pa) keep both aligned. (iova | pa) == 0 allows every size.
        ulong addressBits = iova | pa;
        if (addressBits != 0)
        {
            ulong alignment = addressBits & (~addressBits + 1);
            candidates &= alignment | (alignment - 1); // every size <= alignment; no shift, so no overflow at 2^63
        }

        // Sizes up to remaining: remaining >= 2^64 allows every size.
        if (remaining < IovaRange.SpaceSize)
        {
            ulong r = (ulong)remaining;
            if (r == 0)
            {
                return 0;
            }

            ulong top = 1UL << (63 - BitOperations.LeadingZeroCount(r));
            candidates &= top | (top - 1);
        }

        return candidates == 0 ? 0 : 1UL << (63 - BitOperations.LeadingZeroCount(candidates));
    }

    /// <inheritdoc />
    public bool Equals(PageSizes other) => Bitmap == other.Bitmap;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PageSizes other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => Bitmap.GetHashCode();

    /// <summary>Equality of the bitmaps.</summary>
    public static bool operator ==(PageSizes left, PageSizes right) => left.Equals(right);

    /// <summary>Inequality of the bitmaps.</summary>
    public static bool operator !=(PageSizes left, PageSizes right) => !left.Equals(right);

    /// <summary>Formats a size as 4K, 2M, 1G, 512G, or hex when it has no binary suffix.</summary>
    public static string FormatSize(UInt128 size)
    {
        string[] suffixes = ["", "K", "M", "G", "T", "P", "E"];
        for (int i = suffixes.Length - 1; i >= 1; i--)
        {
            UInt128 unit = (UInt128)1 << (10 * i);
            if (size >= unit && size % unit == 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{size / unit}{suffixes[i]}");
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{size}");
    }

    /// <summary>Formats as <c>{4K, 2M, 1G}</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("{");
        ulong bits = Bitmap;
        while (bits != 0)
        {
            ulong size = bits & (~bits + 1);
            bits &= bits - 1;
            if (sb.Length > 1)
            {
                sb.Append(", ");
            }

            sb.Append(FormatSize(size));
        }

        return sb.Append('}').ToString();
    }
}
