namespace IommuKit.Scenarios;

/// <summary>The kind of a memory region (<c>kind</c> of a <c>machine.regions</c> entry or <c>region-add</c>).</summary>
public enum RegionKind
{
    /// <summary><c>ram</c>: RAM backed by host memory.</summary>
    Ram,

    /// <summary><c>rom</c>: read-only memory backed by host memory.</summary>
    Rom,

    /// <summary><c>mmio</c>: an I/O region (not RAM: the VFIO listener skips it).</summary>
    Mmio,

    /// <summary><c>alias</c>: a window onto <c>target</c> at <c>target-offset</c>.</summary>
    Alias,

    /// <summary><c>iommu</c>: a guest vIOMMU region (translated by the guest IOMMU).</summary>
    Iommu,

    /// <summary><c>container</c>: a pure container region holding children.</summary>
    Container,

    /// <summary><c>ram-device</c>: RAM mapped from a device BAR (the VFIO listener maps it only when IOMMU-page aligned; failures are warnings).</summary>
    RamDevice,

    /// <summary><c>rom-device</c>: RAM-backed reads, MMIO writes; not RAM, so the VFIO listener skips it.</summary>
    RomDevice,
}
