using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.PageTables;

namespace IommuKit.Iommufd;

/// <summary>Adapts an <see cref="IommuDomain"/> to what an <see cref="Ioas"/> needs (<see cref="IIoasDomain"/>).</summary>
/// <remarks>Unmaps flush the IOTLB before returning, as the kernel's <c>iommu_unmap</c> syncs it.</remarks>
internal sealed class IommuDomainTarget : IIoasDomain
{
    public IommuDomainTarget(IommuDomain domain) => Domain = domain;

    public IommuDomain Domain { get; }

    public PageSizes PageSizes => Domain.PageSizes;

    public IovaRange Aperture => Domain.Aperture;

    public IReadOnlyList<IovaRange> Reserved => Domain.Reserved;

    public Errno Map(IovaRange iova, ulong pa, bool readable, bool writeable)
    {
        Permissions permissions = (readable ? Permissions.Read : Permissions.None) | (writeable ? Permissions.Write : Permissions.None);
        return Domain.TryMap(iova, pa, permissions) switch
        {
            PageTableStatus.Ok => Errno.Ok,
            PageTableStatus.AlreadyMapped => Errno.EEXIST,
            PageTableStatus.OutOfFrames => Errno.ENOMEM,
            _ => Errno.EINVAL, // misaligned, beyond the width, or permissions the format cannot encode (no access)
        };
    }

    public void Unmap(IovaRange iova) => Domain.UnmapAndFlush(iova);
}
