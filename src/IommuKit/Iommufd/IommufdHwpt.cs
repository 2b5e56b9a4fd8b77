namespace IommuKit.Iommufd;

/// <summary>
/// A paging HW pagetable object (<c>IOMMUFD_OBJ_HWPT_PAGING</c>): an IOMMU domain attached to an IOAS. While it exists
/// the IOAS cannot be destroyed (EBUSY); destroying it detaches the domain.
/// </summary>
internal sealed class IommufdHwpt
{
    public IommufdHwpt(Ioas ioas, IIoasDomain domain)
    {
        Ioas = ioas;
        Domain = domain;
    }

    public uint Id { get; set; }

    public Ioas Ioas { get; }

    public IIoasDomain Domain { get; }
}
