using IommuKit.Iommu;
using IommuKit.Memory;

namespace IommuKit.Devices;

/// <summary>
/// The host side of a device's DMA: the host IOMMU translation of a host IOVA (a VFIO container's domain) and the host
/// memory behind it. The VFIO type1 and iommufd containers implement it; <see cref="IommuDomainDmaPath"/> adapts a
/// bare <see cref="IommuDomain"/>.
/// </summary>
public interface IHostDmaPath
{
    /// <summary>Host memory: where translated accesses land.</summary>
    PhysicalMemory Memory { get; }

    /// <summary>
    /// Translates one access at <paramref name="iova"/> (host stage): IOTLB, walk, faults logged by the host domain.
    /// Must not allocate.
    /// </summary>
    DmaTranslation Translate(ulong iova, DmaAccess access, int deviceId);
}
