using IommuKit.Iommu;
using IommuKit.Memory;

namespace IommuKit.Devices;

/// <summary>A host DMA path through one <see cref="IommuDomain"/> into <see cref="PhysicalMemory"/>.</summary>
/// <param name="domain">The host domain (its IOTLB, faults and stale-hit detection are used as they are).</param>
/// <param name="memory">Host memory.</param>
public sealed class IommuDomainDmaPath(IommuDomain domain, PhysicalMemory memory) : IHostDmaPath
{
    /// <summary>The host domain.</summary>
    public IommuDomain Domain { get; } = domain ?? throw new ArgumentNullException(nameof(domain));

    /// <inheritdoc />
    public PhysicalMemory Memory { get; } = memory ?? throw new ArgumentNullException(nameof(memory));

    /// <inheritdoc />
    public DmaTranslation Translate(ulong iova, DmaAccess access, int deviceId) => Domain.Translate(iova, access, deviceId);
}
