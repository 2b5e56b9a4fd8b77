using System.Globalization;

namespace IommuKit.MemoryMap;

/// <summary>One notification (QEMU's <c>IOMMUTLBEvent</c>): a MAP, UNMAP or DEVIOTLB_UNMAP of an entry.</summary>
/// <param name="Type">Exactly one of <see cref="IommuNotifierFlags.Map"/>, <see cref="IommuNotifierFlags.Unmap"/>,
/// <see cref="IommuNotifierFlags.DevIotlbUnmap"/>.</param>
/// <param name="Entry">The entry; an UNMAP carries <see cref="PageTables.Permissions.None"/>.</param>
public readonly record struct IommuTlbEvent(IommuNotifierFlags Type, IommuTlbEntry Entry)
{
    /// <summary>Formats as <c>MAP {0x1000, mask 0xfff} -> 0x80000 rw</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{TypeName(Type)} {Entry}");

    /// <summary>QEMU's names: <c>MAP</c>, <c>UNMAP</c>, <c>DEVIOTLB_UNMAP</c>.</summary>
    public static string TypeName(IommuNotifierFlags type) => type switch
    {
        IommuNotifierFlags.Map => "MAP",
        IommuNotifierFlags.Unmap => "UNMAP",
        IommuNotifierFlags.DevIotlbUnmap => "DEVIOTLB_UNMAP",
        _ => type.ToString(),
    };
}
