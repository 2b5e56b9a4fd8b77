namespace IommuKit.Vfio;

/// <summary>
/// One capability of the <c>VFIO_IOMMU_GET_INFO</c> chain (<c>struct vfio_info_cap_header</c> plus its payload).
/// </summary>
/// <param name="Id">The capability id.</param>
/// <param name="Version">The capability version (1 for all type1 caps).</param>
/// <param name="Offset">The byte offset of this capability from the start of the info struct.</param>
/// <param name="Next">The offset of the next capability, 0 for the last.</param>
/// <param name="Size">The bytes this capability occupies in the chain (its struct size rounded up to 8).</param>
public abstract record VfioInfoCap(ushort Id, ushort Version, uint Offset, uint Next, uint Size);
