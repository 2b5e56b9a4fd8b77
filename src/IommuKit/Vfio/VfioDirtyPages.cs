namespace IommuKit.Vfio;

/// <summary>
/// <c>struct vfio_iommu_type1_dirty_bitmap</c> followed, for GET_BITMAP, by
/// <c>struct vfio_iommu_type1_dirty_bitmap_get</c> (<c>iova</c>, <c>size</c>, <c>bitmap</c>).
/// </summary>
public struct VfioDirtyPages
{
    /// <summary>The minimum <see cref="Argsz"/> (offsetofend of <c>flags</c>).</summary>
    public const uint MinArgsz = 8;

    /// <summary>The size of <c>struct vfio_iommu_type1_dirty_bitmap_get</c> (iova, size, vfio_bitmap).</summary>
    public const uint GetStructSize = 16 + VfioBitmap.StructSize;

    /// <summary>Creates a START or STOP argument.</summary>
    public VfioDirtyPages(VfioDirtyPagesFlags flags)
    {
        Argsz = MinArgsz;
        Flags = flags;
    }

    /// <summary>Creates a GET_BITMAP argument for <c>[iova, iova + size)</c>.</summary>
    public VfioDirtyPages(ulong iova, ulong size, VfioBitmap bitmap)
    {
        Argsz = MinArgsz + GetStructSize;
        Flags = VfioDirtyPagesFlags.GetBitmap;
        Iova = iova;
        Size = size;
        Bitmap = bitmap;
    }

    /// <summary>The caller's structure size.</summary>
    public uint Argsz { get; set; }

    /// <summary>Exactly one of START / STOP / GET_BITMAP.</summary>
    public VfioDirtyPagesFlags Flags { get; set; }

    /// <summary>GET_BITMAP: the first IOVA.</summary>
    public ulong Iova { get; set; }

    /// <summary>GET_BITMAP: the length.</summary>
    public ulong Size { get; set; }

    /// <summary>GET_BITMAP: the user bitmap.</summary>
    public VfioBitmap? Bitmap { get; set; }
}
