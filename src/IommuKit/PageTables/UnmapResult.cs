using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IommuKit.PageTables;

/// <summary>What <see cref="IoPageTable.Unmap"/> did.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct UnmapResult : IEquatable<UnmapResult>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal UnmapResult(PageTableStatus status, UInt128 bytesUnmapped, int leavesCleared, int hugeLeavesSplit, int tablesFreed)
    {
        Status = status;
        BytesUnmapped = bytesUnmapped;
        LeavesCleared = leavesCleared;
        HugeLeavesSplit = hugeLeavesSplit;
        TablesFreed = tablesFreed;
    }

    /// <summary><see cref="PageTableStatus.Ok"/>, or why nothing was unmapped (<see cref="PageTableStatus.Misaligned"/>, <see cref="PageTableStatus.OutOfFrames"/>).</summary>
    public PageTableStatus Status { get; }

    /// <summary>Mapped bytes removed (0 when the range held no mapping). 128-bit for uniformity with range sizes.</summary>
    public UInt128 BytesUnmapped { get; }

    /// <summary>Leaf entries cleared.</summary>
    public int LeavesCleared { get; }

    /// <summary>Huge leaves (2M or 1G) replaced by a table of next-level leaves because the range covered only part of them.</summary>
    public int HugeLeavesSplit { get; }

    /// <summary>Table pages that became empty and were given back to the frame allocator.</summary>
    public int TablesFreed { get; }

    /// <inheritdoc />
    public bool Equals(UnmapResult other) =>
        Status == other.Status && BytesUnmapped == other.BytesUnmapped && LeavesCleared == other.LeavesCleared
        && HugeLeavesSplit == other.HugeLeavesSplit && TablesFreed == other.TablesFreed;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is UnmapResult other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, BytesUnmapped, LeavesCleared, HugeLeavesSplit, TablesFreed);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(UnmapResult left, UnmapResult right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    public static bool operator !=(UnmapResult left, UnmapResult right) => !left.Equals(right);

    /// <summary>Formats the counts.</summary>
    public override string ToString() =>
        $"{Status}: {ThrowHelper.Hex(BytesUnmapped)} bytes, {LeavesCleared} leaves cleared, {HugeLeavesSplit} split, {TablesFreed} tables freed";
}
