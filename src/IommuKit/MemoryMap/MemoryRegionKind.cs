namespace IommuKit.MemoryMap;

/// <summary>What a <see cref="MemoryRegion"/> is, after the QEMU constructor that made it.</summary>
public enum MemoryRegionKind
{
    /// <summary>A pure container (<c>memory_region_init</c>): no backing of its own, only groups subregions.</summary>
    Container,

    /// <summary>Guest RAM with host memory behind it (<c>memory_region_init_ram*</c>). What VFIO DMA-maps.</summary>
    Ram,

    /// <summary>Read-only RAM (<c>memory_region_init_rom</c>): RAM created with <see cref="MemoryRegion.ReadOnly"/> set.</summary>
    Rom,

    /// <summary>A ROM device (<c>memory_region_init_rom_device</c>): RAM-backed reads in romd mode, MMIO writes. Not RAM.</summary>
    RomDevice,

    /// <summary>MMIO / port I/O with callbacks (<c>memory_region_init_io</c>); with no ops it is a reservation region.</summary>
    Io,

    /// <summary>A window into another region (<c>memory_region_init_alias</c>). Listeners never see it, only its target.</summary>
    Alias,

    /// <summary>A guest IOMMU region (<c>TYPE_IOMMU_MEMORY_REGION</c>): terminates, then re-forwards through a translation.</summary>
    Iommu,

    /// <summary>RAM mapped from a device BAR (<c>memory_region_init_ram_device_ptr</c>): RAM with the ram_device flag.</summary>
    RamDevice,
}
