using IommuKit.Addressing;
using IommuKit.Linux;

namespace IommuKit.Iommufd;

/// <summary>
/// What an <see cref="Ioas"/> needs from an attached IOMMU domain (the kernel's <c>iommu_domain</c>): its geometry
/// and map/unmap. <c>IommuDomainTarget</c> adapts <c>IommuKit.Iommu.IommuDomain</c>.
/// </summary>
internal interface IIoasDomain
{
    /// <summary>The domain's <c>pgsize_bitmap</c>.</summary>
    PageSizes PageSizes { get; }

    /// <summary>The domain's aperture (<c>geometry.aperture_start .. aperture_end</c>).</summary>
    IovaRange Aperture { get; }

    /// <summary>The device's reserved regions (MSI windows and the like) the attach reserves in the IOAS.</summary>
    IReadOnlyList<IovaRange> Reserved { get; }

    /// <summary>Maps <paramref name="iova"/> to <paramref name="pa"/>; a failure leaves the domain unchanged.</summary>
    Errno Map(IovaRange iova, ulong pa, bool readable, bool writeable);

    /// <summary>Unmaps <paramref name="iova"/> (a range previously mapped by <see cref="Map"/>, or a union of such).</summary>
    void Unmap(IovaRange iova);
}
