using System.Globalization;

namespace IommuKit.Iommu;

/// <summary>One refused DMA access, as reported in a <see cref="DmaTranslation"/> and recorded in a <see cref="FaultLog"/>.</summary>
/// <param name="Iova">The IOVA the device accessed.</param>
/// <param name="Access">The kind of access.</param>
/// <param name="Reason">Why it was refused.</param>
/// <param name="DeviceId">The requester (a source id, like VT-d's SID).</param>
/// <param name="Sequence">
/// The fault's number in its log: 0 for the first fault the log saw, counting dropped faults too, so a gap between
/// recorded sequences shows how many were dropped.
/// </param>
public readonly record struct DmaFault(ulong Iova, DmaAccess Access, DmaFaultReason Reason, int DeviceId, long Sequence)
{
    /// <summary>Formats as <c>write 0x1000 not-present dev 3 #7</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{FormatAccess(Access)} {ThrowHelper.Hex(Iova)} {FormatReason(Reason)} dev {DeviceId} #{Sequence}");

    /// <summary>The scenario-file name of a fault reason: <c>not-present</c>, <c>read-only</c>, <c>write-only</c>, <c>out-of-range</c>.</summary>
    public static string FormatReason(DmaFaultReason reason) => reason switch
    {
        DmaFaultReason.NotPresent => "not-present",
        DmaFaultReason.WriteToReadOnly => "read-only",
        DmaFaultReason.ReadOfWriteOnly => "write-only",
        DmaFaultReason.BeyondWidth => "out-of-range",
        _ => reason.ToString(),
    };

    private static string FormatAccess(DmaAccess access) => access switch
    {
        DmaAccess.Read => "read",
        DmaAccess.Write => "write",
        DmaAccess.ReadWrite => "read-write",
        _ => access.ToString(),
    };
}
