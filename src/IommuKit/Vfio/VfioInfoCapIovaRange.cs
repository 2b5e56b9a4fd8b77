using IommuKit.Addressing;

namespace IommuKit.Vfio;

/// <summary><c>VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE</c> (id 1): the valid IOVA ranges, inclusive, ascending.</summary>
/// <param name="Offset">The byte offset of this capability.</param>
/// <param name="Next">The offset of the next capability, 0 for the last.</param>
/// <param name="Ranges">The inclusive <c>{start, end}</c> ranges.</param>
public sealed record VfioInfoCapIovaRange(uint Offset, uint Next, IReadOnlyList<IovaRange> Ranges)
    : VfioInfoCap(CapId, 1, Offset, Next, SizeFor(Ranges.Count))
{
    /// <summary>The capability id.</summary>
    public const ushort CapId = 1;

    /// <summary>Header (8) + nr_iovas and reserved (8) + 16 bytes per range.</summary>
    public static uint SizeFor(int ranges) => 16 + (16 * (uint)ranges);
}
