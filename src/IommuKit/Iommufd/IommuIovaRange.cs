namespace IommuKit.Iommufd;

/// <summary><c>struct iommu_iova_range</c>: an inclusive range <c>[Start, Last]</c> as the iommufd UAPI writes it.</summary>
/// <param name="Start">The first IOVA.</param>
/// <param name="Last">The last IOVA (inclusive).</param>
public readonly record struct IommuIovaRange(ulong Start, ulong Last)
{
    /// <summary>Formats as <c>[0x1000, 0x1fff]</c>.</summary>
    public override string ToString() => $"[{ThrowHelper.Hex(Start)}, {ThrowHelper.Hex(Last)}]";
}
