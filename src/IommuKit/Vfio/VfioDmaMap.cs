namespace IommuKit.Vfio;

/// <summary><c>struct vfio_iommu_type1_dma_map</c>, the argument of <c>VFIO_IOMMU_MAP_DMA</c>.</summary>
/// <remarks>The ioctl maps the half-open range <c>[Iova, Iova + Size)</c> to the user memory at <see cref="Vaddr"/>.</remarks>
public struct VfioDmaMap
{
    /// <summary>The minimum <see cref="Argsz"/> the kernel accepts (offsetofend of <c>size</c>).</summary>
    public const uint MinArgsz = 32;

    /// <summary>Creates a map argument with <see cref="Argsz"/> = <see cref="MinArgsz"/>.</summary>
    public VfioDmaMap(ulong iova, ulong size, ulong vaddr, VfioDmaMapFlags flags)
    {
        Argsz = MinArgsz;
        Flags = flags;
        Vaddr = vaddr;
        Iova = iova;
        Size = size;
    }

    /// <summary>The caller's structure size.</summary>
    public uint Argsz { get; set; }

    /// <summary>READ / WRITE / VADDR; other bits are rejected with EINVAL.</summary>
    public VfioDmaMapFlags Flags { get; set; }

    /// <summary>The process virtual address of the memory.</summary>
    public ulong Vaddr { get; set; }

    /// <summary>The IO virtual address.</summary>
    public ulong Iova { get; set; }

    /// <summary>The length in bytes.</summary>
    public ulong Size { get; set; }
}
