namespace IommuKit.Vfio;

/// <summary><c>VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL</c> (id 3): how many more mappings the container accepts.</summary>
/// <param name="Offset">The byte offset of this capability.</param>
/// <param name="Next">The offset of the next capability, 0 for the last.</param>
/// <param name="Avail">The current <c>dma_avail</c>.</param>
public sealed record VfioInfoCapDmaAvail(uint Offset, uint Next, uint Avail)
    : VfioInfoCap(CapId, 1, Offset, Next, StructSize)
{
    /// <summary>The capability id.</summary>
    public const ushort CapId = 3;

    /// <summary>Header (8) + avail (4), rounded up to 8 as the chain builder aligns every capability.</summary>
    public const uint StructSize = 16;
}
