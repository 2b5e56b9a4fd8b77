using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>The outcome of one DMA access through an <see cref="IommuDomain"/>: a physical address, or a fault.</summary>
/// <remarks>When <see cref="IsOk"/>, <see cref="Pa"/>, <see cref="Permissions"/> and <see cref="LeafSize"/> describe the
/// leaf that served the access and <see cref="Fault"/> is default; otherwise <see cref="Fault"/> says why and the
/// other fields are 0. A faulting access never fills the IOTLB.</remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly struct DmaTranslation : IEquatable<DmaTranslation>
{
    // 32 bytes: a success and a fault share the fields (a hit writes four words, not seven).
    private const byte OkFlag = 1;
    private const byte FromIotlbFlag = 2;
    private const byte StaleFlag = 4;

    private readonly ulong _a;     // Pa, or the fault's Iova
    private readonly ulong _b;     // LeafSize, or the fault's Sequence
    private readonly int _c;       // Permissions, or the fault's DeviceId
    private readonly int _access;  // the fault's Access (0 on success)
    private readonly int _reason;  // the fault's Reason (0 on success)
    private readonly byte _flags;  // OkFlag | FromIotlbFlag | StaleFlag

    private DmaTranslation(ulong a, ulong b, int c, int access, int reason, byte flags)
    {
        _a = a;
        _b = b;
        _c = c;
        _access = access;
        _reason = reason;
        _flags = flags;
    }

    /// <summary>True when the access is allowed.</summary>
    public bool IsOk => (_flags & OkFlag) != 0;

    /// <summary>The physical address of the accessed IOVA; 0 on a fault.</summary>
    public ulong Pa => IsOk ? _a : 0;

    /// <summary>The permissions of the leaf that served the access; <see cref="Permissions.None"/> on a fault.</summary>
    public Permissions Permissions => IsOk ? (Permissions)_c : Permissions.None;

    /// <summary>The size of the leaf that served the access; 0 on a fault.</summary>
    public ulong LeafSize => IsOk ? _b : 0;

    /// <summary>True when an IOTLB entry served the access (no page walk).</summary>
    public bool FromIotlb => (_flags & FromIotlbFlag) != 0;

    /// <summary>
    /// True when the access succeeded through an IOTLB entry whose mapping had already been unmapped without the
    /// IOTLB being flushed: the device reached memory it no longer owns.
    /// </summary>
    public bool IsStale => (_flags & StaleFlag) != 0;

    /// <summary>The fault when not <see cref="IsOk"/>; default otherwise.</summary>
    public DmaFault Fault => IsOk ? default : new DmaFault(_a, (DmaAccess)_access, (DmaFaultReason)_reason, _c, (long)_b);

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
        new(pa, leafSize, (int)permissions, 0, 0, (byte)(OkFlag | (fromIotlb ? FromIotlbFlag : 0) | (isStale ? StaleFlag : 0)));

    /// <summary>A refused access.</summary>
    public static DmaTranslation Faulted(DmaFault fault, bool fromIotlb = false) =>
        new(fault.Iova, (ulong)fault.Sequence, fault.DeviceId, (int)fault.Access, (int)fault.Reason, fromIotlb ? FromIotlbFlag : (byte)0);

    /// <inheritdoc />
    public bool Equals(DmaTranslation other) =>
        _a == other._a && _b == other._b && _c == other._c && _access == other._access && _reason == other._reason &&
        _flags == other._flags; // every field is the same as comparing every property: the constructors store nothing else

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is DmaTranslation other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_a, _b, _c, _access, _reason, _flags);

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
