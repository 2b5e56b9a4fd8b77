using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.Vfio;

/// <summary>
/// What a <see cref="VfioContainer"/> needs from an attached IOMMU domain (the kernel's <c>iommu_domain</c> as type1
/// sees it): its geometry and map/unmap. <see cref="Iommu.IommuDomain"/> is adapted by the container; the conformance
/// replayer adds a 64-bit domain for IOMMU drivers whose tables IommuKit's page-table formats cannot hold.
/// </summary>
internal interface IVfioDomain
{
    /// <summary>The domain's <c>pgsize_bitmap</c>.</summary>
    PageSizes PageSizes { get; }

    /// <summary>The domain's aperture (<c>geometry.aperture_start .. aperture_end</c>).</summary>
    IovaRange Aperture { get; }

    /// <summary>The group's reserved regions (MSI windows and the like) the attach removes from the valid IOVA list.</summary>
    IReadOnlyList<IovaRange> Reserved { get; }

    /// <summary>Whether DMA through the domain is always cache coherent (<c>enforce_cache_coherency</c>).</summary>
    bool EnforcesCacheCoherency { get; }

    /// <summary>Maps <paramref name="iova"/> to <paramref name="pa"/>; a failure leaves the domain unchanged.</summary>
    PageTableStatus TryMap(IovaRange iova, ulong pa, Permissions permissions);

    /// <summary>Unmaps <paramref name="iova"/> and invalidates any IOTLB entries for it before returning.</summary>
    void UnmapAndFlush(IovaRange iova);

    /// <summary>Starts a run of calls from one container operation (a domain may then hold its writer state once
    /// for all of them); ended by <see cref="EndBatch"/>, also when a call throws.</summary>
    void BeginBatch()
    {
    }

    /// <summary>Ends what <see cref="BeginBatch"/> started.</summary>
    void EndBatch()
    {
    }
}
