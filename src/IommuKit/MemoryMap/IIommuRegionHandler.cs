using IommuKit.PageTables;

namespace IommuKit.MemoryMap;

/// <summary>
/// The extension point of an <see cref="MemoryRegionKind.Iommu"/> region: the guest vIOMMU that translates accesses
/// to it and keeps its notifier list (QEMU's <c>IOMMUMemoryRegionClass</c> ops). The memory map only stores it; the
/// vIOMMU layer (<c>Guest/</c>) implements translation and notification.
/// </summary>
/// <remarks>
/// A memory listener that meets an IOMMU section calls <see cref="RegisterNotifier"/> with a notifier covering the
/// section (<c>[OffsetWithinRegion, OffsetWithinRegion + Size - 1]</c>), then <see cref="Replay"/> to learn the
/// mappings that already exist, and <see cref="UnregisterNotifier"/> on region_del. The notifier types live in
/// this layer too, as QEMU keeps them in the memory API header. Every member has a default so a bare handler
/// (no translation, no notifiers) stays valid.
/// </remarks>
public interface IIommuRegionHandler
{
    /// <summary>The smallest translation granule, a power of two (QEMU's <c>get_min_page_size</c>); 4 KiB by default.</summary>
    ulong MinPageSize => 0x1000;

    /// <summary>The number of IOMMU indexes (QEMU's <c>num_indexes</c>); 1 by default.</summary>
    int IndexCount => 1;

    /// <summary>
    /// Translates <paramref name="address"/> for an access needing <paramref name="access"/> (QEMU's
    /// <c>translate</c>; <see cref="Permissions.None"/> asks without checking). The entry covers the page holding the
    /// address; <see cref="Permissions.None"/> means unmapped. Default: nothing is mapped.
    /// </summary>
    IommuTlbEntry Translate(ulong address, Permissions access, int iommuIndex)
    {
        ulong mask = MinPageSize - 1;
        return new IommuTlbEntry(address & ~mask, 0, mask, Permissions.None);
    }

    /// <summary>
    /// Registers <paramref name="notifier"/> (QEMU's <c>memory_region_register_iommu_notifier</c>). A refusal (for
    /// example VT-d without caching mode refusing MAP) is a value; nothing is registered then. Default: refused with
    /// EOPNOTSUPP.
    /// </summary>
    /// <exception cref="ArgumentException">The notifier is malformed (no flags, start above end).</exception>
    IommuRegistrationResult RegisterNotifier(IommuNotifier notifier) =>
        IommuRegistrationResult.Fail(Linux.Errno.EOPNOTSUPP, "this IOMMU region does not support notifiers");

    /// <summary>Unregisters <paramref name="notifier"/>; false when it was not registered. Default: false.</summary>
    bool UnregisterNotifier(IommuNotifier notifier) => false;

    /// <summary>
    /// Sends <paramref name="notifier"/> the current mappings of its range (QEMU's <c>memory_region_iommu_replay</c>);
    /// the notifier need not be registered. Default: nothing (the handler knows no mapping).
    /// </summary>
    void Replay(IommuNotifier notifier)
    {
    }
}
