using IommuKit.Addressing;
using IommuKit.Iommufd;
using IommuKit.Linux;
using IommuKit.PageTables;
using IommuKit.Vfio;

namespace IommuKit.Conformance;

/// <summary>
/// An IOMMU domain reduced to what type1 and iommufd observe of it: aperture, reserved regions, page-size bitmap and
/// cache coherency. It stands in for IOMMU drivers whose tables IommuKit's page-table formats cannot hold: virtio-iommu
/// (the host keeps a mapping tree: 64-bit aperture, <c>PAGE_MASK</c> page sizes) and the AMD v1 table (6 levels, 64-bit).
/// </summary>
/// <remarks>
/// Maps and unmaps always succeed and only count bytes: no translation happens in a replay. A map over an existing
/// mapping succeeds too, as the pre-fix goldens show for both drivers (real-kernel-in-vm.md §5.3: the duplicate
/// end-of-space maps were accepted by virtio-iommu/QEMU and by AMD's v1 table).
/// </remarks>
internal sealed class ApertureDomain(IommuModel model) : IVfioDomain, IIoasDomain
{
    /// <summary>The model this domain follows.</summary>
    public IommuModel Model { get; } = model;

    /// <inheritdoc/>
    public PageSizes PageSizes => Model.PageSizes;

    /// <inheritdoc/>
    public IovaRange Aperture => Model.Aperture;

    /// <inheritdoc/>
    public IReadOnlyList<IovaRange> Reserved => Model.Reserved;

    /// <inheritdoc/>
    public bool EnforcesCacheCoherency => Model.EnforcesCacheCoherency;

    /// <summary>Bytes mapped minus bytes unmapped (modulo 2^128: a sum of range sizes).</summary>
    public UInt128 MappedBytes { get; private set; }

    /// <inheritdoc/>
    public PageTableStatus TryMap(IovaRange iova, ulong pa, Permissions permissions)
    {
        MappedBytes += iova.Size;
        return PageTableStatus.Ok;
    }

    /// <inheritdoc/>
    public void UnmapAndFlush(IovaRange iova) => MappedBytes -= iova.Size;

    /// <inheritdoc/>
    Errno IIoasDomain.Map(IovaRange iova, ulong pa, bool readable, bool writeable)
    {
        MappedBytes += iova.Size;
        return Errno.Ok;
    }

    /// <inheritdoc/>
    void IIoasDomain.Unmap(IovaRange iova) => MappedBytes -= iova.Size;
}
