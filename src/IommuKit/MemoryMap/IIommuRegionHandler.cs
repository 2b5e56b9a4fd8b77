namespace IommuKit.MemoryMap;

/// <summary>
/// The extension point of an <see cref="MemoryRegionKind.Iommu"/> region: the guest vIOMMU that translates accesses
/// to it and keeps its notifier list (QEMU's <c>IOMMUMemoryRegionClass</c> ops). The memory map only stores it; the
/// vIOMMU layer defines translation and notification on the type that implements this interface.
/// </summary>
public interface IIommuRegionHandler
{
    /// <summary>The smallest translation granule, a power of two (QEMU's <c>get_min_page_size</c>); 4 KiB by default.</summary>
    ulong MinPageSize => 0x1000;
}
