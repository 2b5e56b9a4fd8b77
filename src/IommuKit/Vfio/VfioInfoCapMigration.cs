namespace IommuKit.Vfio;

/// <summary><c>VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION</c> (id 2): dirty-tracking page size and bitmap limit.</summary>
/// <param name="Offset">The byte offset of this capability.</param>
/// <param name="Next">The offset of the next capability, 0 for the last.</param>
/// <param name="Flags">Always 0.</param>
/// <param name="PgsizeBitmap">The one page size dirty bitmaps use: the smallest of the container's page sizes.</param>
/// <param name="MaxDirtyBitmapSize">The largest bitmap in bytes: 256 MiB (INT_MAX pages, rounded to 64 bits).</param>
public sealed record VfioInfoCapMigration(uint Offset, uint Next, uint Flags, ulong PgsizeBitmap, ulong MaxDirtyBitmapSize)
    : VfioInfoCap(CapId, 1, Offset, Next, StructSize)
{
    /// <summary>The capability id.</summary>
    public const ushort CapId = 2;

    /// <summary>Header (8) + flags (4, padded to 8) + two u64.</summary>
    public const uint StructSize = 32;
}
