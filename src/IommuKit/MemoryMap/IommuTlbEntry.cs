using System.Globalization;
using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.MemoryMap;

/// <summary>
/// One translation announced by a vIOMMU (QEMU's <c>IOMMUTLBEntry</c>): <see cref="Iova"/> through
/// <see cref="Last"/> maps to <see cref="TranslatedAddress"/> onward with <see cref="Permissions"/>.
/// </summary>
/// <remarks>
/// <para><see cref="AddrMask"/> is the length minus one (0xfff = 4 KiB, 0x1fffff = 2 MiB,
/// <see cref="ulong.MaxValue"/> = the whole 2^64 space), so the full space is an ordinary value and nobody computes
/// <c>AddrMask + 1</c> in 64 bits: use <see cref="Size"/> (128 bits) or <see cref="Last"/>.</para>
/// <para>Invariant: <c>Iova + AddrMask &lt;= 2^64 - 1</c> (checked at construction), so <see cref="Last"/> never
/// wraps. Events a vIOMMU emits are naturally aligned blocks; an event cropped to a notifier's range need not be.</para>
/// </remarks>
public readonly struct IommuTlbEntry : IEquatable<IommuTlbEntry>
{
    /// <summary>Creates an entry.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><c>iova + addrMask</c> passes 2^64 - 1.</exception>
    public IommuTlbEntry(ulong iova, ulong translatedAddress, ulong addrMask, Permissions permissions)
    {
        if (addrMask > ulong.MaxValue - iova)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(addrMask),
                $"entry {ThrowHelper.Hex(iova)} mask {ThrowHelper.Hex(addrMask)} passes 2^64 - 1");
        }

        Iova = iova;
        TranslatedAddress = translatedAddress;
        AddrMask = addrMask;
        Permissions = permissions;
    }

    /// <summary>The first IOVA.</summary>
    public ulong Iova { get; }

    /// <summary>Where <see cref="Iova"/> translates to (guest-physical for VT-d).</summary>
    public ulong TranslatedAddress { get; }

    /// <summary>Length minus one.</summary>
    public ulong AddrMask { get; }

    /// <summary>The access allowed; <see cref="Permissions.None"/> for an UNMAP.</summary>
    public Permissions Permissions { get; }

    /// <summary>The last IOVA, <c>Iova + AddrMask</c> (cannot wrap, see the remarks).</summary>
    public ulong Last => Iova + AddrMask;

    /// <summary>The length in bytes, 1 .. 2^64.</summary>
    public UInt128 Size => (UInt128)AddrMask + 1;

    /// <summary>The IOVAs covered.</summary>
    public IovaRange Range => IovaRange.FromFirstLast(Iova, Last);

    /// <inheritdoc />
    public bool Equals(IommuTlbEntry other) =>
        Iova == other.Iova && TranslatedAddress == other.TranslatedAddress && AddrMask == other.AddrMask && Permissions == other.Permissions;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is IommuTlbEntry other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Iova, TranslatedAddress, AddrMask, Permissions);

    /// <summary>Equality of every field.</summary>
    public static bool operator ==(IommuTlbEntry left, IommuTlbEntry right) => left.Equals(right);

    /// <summary>Inequality of some field.</summary>
    public static bool operator !=(IommuTlbEntry left, IommuTlbEntry right) => !left.Equals(right);

    /// <summary>Formats as <c>{0x1000, mask 0xfff} -> 0x80000 rw</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{{{ThrowHelper.Hex(Iova)}, mask {ThrowHelper.Hex(AddrMask)}}} -> {ThrowHelper.Hex(TranslatedAddress)} {FormatPermissions(Permissions)}");

    /// <summary>QEMU's short permission names: <c>none</c>, <c>r</c>, <c>w</c>, <c>rw</c>.</summary>
    public static string FormatPermissions(Permissions permissions) => permissions switch
    {
        Permissions.None => "none",
        Permissions.Read => "r",
        Permissions.Write => "w",
        _ => "rw",
    };
}
