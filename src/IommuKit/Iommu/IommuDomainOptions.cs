using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>How to build an <see cref="IommuDomain"/>. Every property has a default; the defaults match the
/// scenario format's <c>iommu:</c> defaults.</summary>
public sealed class IommuDomainOptions
{
    /// <summary>The page-table format; <see cref="PageTableFormat.X86SecondLevel4Level"/> by default.</summary>
    public PageTableFormat Format { get; set; } = PageTableFormat.X86SecondLevel4Level;

    /// <summary>The leaf sizes to map with; null for every size the format supports.</summary>
    public PageSizes? PageSizes { get; set; }

    /// <summary>The IOVA range that may be mapped; null for the page table's whole width.</summary>
    public IovaRange? Aperture { get; set; }

    /// <summary>IOVA ranges that can never be mapped (an MSI window, say); none by default.</summary>
    public IReadOnlyList<IovaRange> Reserved { get; set; } = [];

    /// <summary>The IOTLB shape; 512 entries, 8 ways by default.</summary>
    public IotlbGeometry Iotlb { get; set; } = IotlbGeometry.Default;

    /// <summary>Fault records kept before the log overflows; 256 by default (the most VT-d's NFR field can report).</summary>
    public int FaultLogCapacity { get; set; } = 256;

    /// <summary>
    /// When true, <see cref="IommuDomain.Unmap"/> also invalidates the unmapped range in the IOTLB (a strict-mode
    /// driver). False by default: a plain unmap leaves stale IOTLB entries until a flush, as hardware does.
    /// </summary>
    public bool FlushOnUnmap { get; set; }

    /// <summary>
    /// Whether the domain enforces cache coherency (<c>enforce_cache_coherency</c>: snoop control, which QEMU's
    /// intel-iommu lacks). True by default; VFIO's <c>VFIO_DMA_CC_IOMMU</c> reads 1 only when every domain enforces it.
    /// </summary>
    public bool EnforceCacheCoherency { get; set; } = true;
}
