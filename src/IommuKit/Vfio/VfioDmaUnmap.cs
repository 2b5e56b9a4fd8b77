namespace IommuKit.Vfio;

/// <summary><c>struct vfio_iommu_type1_dma_unmap</c>, the argument of <c>VFIO_IOMMU_UNMAP_DMA</c>.</summary>
/// <remarks><see cref="Size"/> is in/out: the length asked for, and on success the bytes unmapped (a 64-bit field,
/// so a total of 2^64 bytes reads as 0; the container reports the exact total separately).</remarks>
public struct VfioDmaUnmap
{
    /// <summary>The minimum <see cref="Argsz"/> the kernel accepts (offsetofend of <c>size</c>).</summary>
    public const uint MinArgsz = 24;

    /// <summary>Creates an unmap argument with <see cref="Argsz"/> = <see cref="MinArgsz"/>, or room for the bitmap when one is given.</summary>
    public VfioDmaUnmap(ulong iova, ulong size, VfioDmaUnmapFlags flags = VfioDmaUnmapFlags.None, VfioBitmap? bitmap = null)
    {
        Argsz = bitmap is null ? MinArgsz : MinArgsz + VfioBitmap.StructSize;
        Flags = flags;
        Iova = iova;
        Size = size;
        Bitmap = bitmap;
    }

    /// <summary>The caller's structure size (with the trailing <c>vfio_bitmap</c> for GET_DIRTY_BITMAP).</summary>
    public uint Argsz { get; set; }

    /// <summary>GET_DIRTY_BITMAP / ALL / VADDR; other bits are rejected with EINVAL.</summary>
    public VfioDmaUnmapFlags Flags { get; set; }

    /// <summary>The first IOVA.</summary>
    public ulong Iova { get; set; }

    /// <summary>In: the length. Out (on success only): the bytes unmapped, modulo 2^64.</summary>
    public ulong Size { get; set; }

    /// <summary>The trailing <c>struct vfio_bitmap</c> (GET_DIRTY_BITMAP); null when the caller passed none.</summary>
    public VfioBitmap? Bitmap { get; set; }
}
