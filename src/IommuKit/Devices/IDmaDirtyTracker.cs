namespace IommuKit.Devices;

/// <summary>
/// Told about every byte range a device DMA-wrote, in host IOVAs (what VFIO's dirty-page tracking records). The
/// container side implements it.
/// </summary>
public interface IDmaDirtyTracker
{
    /// <summary><paramref name="length"/> bytes at host IOVA <paramref name="iova"/> were written by DMA.</summary>
    void MarkDirty(ulong iova, ulong length);
}
