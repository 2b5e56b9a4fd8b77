using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>The outcome of one DMA access through an <see cref="IommuDomain"/>: a physical address, or a fault.</summary>
/// <remarks>When <see cref="IsOk"/>, <see cref="Pa"/>, <see cref="Permissions"/> and <see cref="LeafSize"/> describe the
/// leaf that served the access and <see cref="Fault"/> is default; otherwise <see cref="Fault"/> says why and the
/// other fields are 0. A faulting access never fills the IOTLB.</remarks>
[StructLayout(LayoutKind.Auto)]
public readonly struct DmaTranslation : IEquatable<DmaTranslation>
{
    private DmaTranslation(bool isOk, ulong pa, Permissions permissions, ulong leafSize, bool fromIotlb, bool isStale, DmaFault fault)
    {
        IsOk = isOk;
        Pa = pa;
        Permissions = permissions;
        LeafSize = leafSize;
        FromIotlb = fromIotlb;
        IsStale = isStale;
        Fault = fault;
    }

    /// <summary>True when the access is allowed.</summary>
    public bool IsOk { get; }

    /// <summary>The physical address of the accessed IOVA; 0 on a fault.</summary>
    public ulong Pa { get; }

    /// <summary>The permissions of the leaf that served the access; <see cref="Permissions.None"/> on a fault.</summary>
    public Permissions Permissions { get; }

    /// <summary>The size of the leaf that served the access; 0 on a fault.</summary>
    public ulong LeafSize { get; }

    /// <summary>True when an IOTLB entry served the access (no page walk).</summary>
    public bool FromIotlb { get; }

    /// <summary>
    /// True when the access succeeded through an IOTLB entry whose mapping had already been unmapped without the
    /// IOTLB being flushed: the device reached memory it no longer owns.
    /// </summary>
    public bool IsStale { get; }

    /// <summary>The fault when not <see cref="IsOk"/>; default otherwise.</summary>
    public DmaFault Fault { get; }

    /// <summary>Gets <see cref="Pa"/> when the access is allowed.</summary>
    public bool TryGetPa(out ulong pa)
    {
        pa = Pa;
        return IsOk;
    }

    /// <summary>Gets <see cref="Fault"/> when the access faulted.</summary>
    public bool TryGetFault(out DmaFault fault)
    {
        fault = Fault;
        return !IsOk;
    }

    /// <summary>An allowed access.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DmaTranslation Success(ulong pa, Permissions permissions, ulong leafSize, bool fromIotlb, bool isStale = false) =>
        new(true, pa, permissions, leafSize, fromIotlb, isStale, default);

    /// <summary>A refused access.</summary>
    public static DmaTranslation Faulted(DmaFault fault, bool fromIotlb = false) =>
        new(false, 0, Permissions.None, 0, fromIotlb, false, fault);

    /// <inheritdoc />
    public bool Equals(DmaTranslation other) =>
        IsOk == other.IsOk && Pa == other.Pa && Permissions == other.Permissions && LeafSize == other.LeafSize &&
        FromIotlb == other.FromIotlb && IsStale == other.IsStale && Fault == other.Fault;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DmaTranslation other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(IsOk, Pa, Permissions, LeafSize, FromIotlb, IsStale, Fault);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(DmaTranslation left, DmaTranslation right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    public static bool operator !=(DmaTranslation left, DmaTranslation right) => !left.Equals(right);

    /// <summary>Formats as <c>0x40001000 (4K, iotlb)</c> or <c>fault: read 0x1000 not-present dev 0 #0</c>.</summary>
    public override string ToString() => IsOk
        ? string.Create(CultureInfo.InvariantCulture,
            $"{ThrowHelper.Hex(Pa)} ({Addressing.PageSizes.FormatSize(LeafSize)}, {(FromIotlb ? "iotlb" : "walk")}{(IsStale ? ", stale" : "")})")
        : "fault: " + Fault;
}
