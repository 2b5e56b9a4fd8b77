using System.Globalization;

namespace IommuKit.Devices;

/// <summary>A DMA that succeeded through an IOTLB entry whose mapping had been removed without invalidation.</summary>
/// <param name="Stage">Which IOTLB served it.</param>
/// <param name="Iova">The IOVA (of that stage) accessed.</param>
/// <param name="Cause">The unmap that left the entry stale.</param>
public readonly record struct StaleDmaAccess(DmaStage Stage, ulong Iova, string Cause)
{
    /// <summary>Formats as <c>guest 0x1000: guest unmap #1 ...</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Stage == DmaStage.Guest ? "guest" : "host")} {ThrowHelper.Hex(Iova)}: {Cause}");
}
