using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IommuKit.PageTables;

/// <summary>The result of walking a page table for one IOVA.</summary>
/// <remarks>
/// When <see cref="IsPresent"/>, <see cref="Pa"/> is the translated address of the IOVA itself (leaf base plus
/// offset), <see cref="LeafSize"/> the size of the leaf and <see cref="Level"/> its level (1 = 4K, 2 = 2M, 3 = 1G).
/// Otherwise <see cref="Level"/> is the level of the table whose entry ended the walk (the root level when the
/// address is beyond the width) and <see cref="Status"/> says why.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct PageTranslation : IEquatable<PageTranslation>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal PageTranslation(PageWalkStatus status, ulong pa, ulong leafSize, int level, Permissions permissions)
    {
        Status = status;
        Pa = pa;
        LeafSize = leafSize;
        Level = level;
        Permissions = permissions;
    }

    /// <summary>How the walk ended.</summary>
    public PageWalkStatus Status { get; }

    /// <summary>True when a leaf maps the address.</summary>
    public bool IsPresent => Status == PageWalkStatus.Present;

    /// <summary>True when the address is above the format's IOVA width.</summary>
    public bool IsBeyondWidth => Status == PageWalkStatus.BeyondWidth;

    /// <summary>The physical address the IOVA translates to; 0 when not present (check <see cref="IsPresent"/>).</summary>
    public ulong Pa { get; }

    /// <summary>The effective permissions (leaf and every table entry on the way); <see cref="Permissions.None"/> when not present.</summary>
    public Permissions Permissions { get; }

    /// <summary>The leaf size in bytes; 0 when not present.</summary>
    public ulong LeafSize { get; }

    /// <summary>The leaf's level, or the level where the walk stopped.</summary>
    public int Level { get; }

    /// <summary>The physical address of the first byte of the leaf (<see cref="Pa"/> rounded down to <see cref="LeafSize"/>).</summary>
    public ulong LeafPa => IsPresent ? Pa & ~(LeafSize - 1) : 0;

    /// <inheritdoc />
    public bool Equals(PageTranslation other) =>
        Status == other.Status && Pa == other.Pa && LeafSize == other.LeafSize && Level == other.Level && Permissions == other.Permissions;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PageTranslation other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, Pa, LeafSize, Level, Permissions);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(PageTranslation left, PageTranslation right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    public static bool operator !=(PageTranslation left, PageTranslation right) => !left.Equals(right);

    /// <summary>Formats as <c>0x1000 4K L1 ReadWrite</c> or <c>NotPresent at L4</c>.</summary>
    public override string ToString() => IsPresent
        ? $"{ThrowHelper.Hex(Pa)} {Addressing.PageSizes.FormatSize(LeafSize)} L{Level} {Permissions}"
        : $"{Status} at L{Level}";
}
