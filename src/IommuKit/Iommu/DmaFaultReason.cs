namespace IommuKit.Iommu;

/// <summary>Why the IOMMU refused a DMA access.</summary>
/// <remarks>Scenario files name these <c>not-present</c>, <c>read-only</c>, <c>write-only</c> and <c>out-of-range</c>.</remarks>
public enum DmaFaultReason
{
    /// <summary>No leaf maps the IOVA (scenario name <c>not-present</c>).</summary>
    NotPresent,

    /// <summary>A write to a mapping without write permission (scenario name <c>read-only</c>).</summary>
    WriteToReadOnly,

    /// <summary>A read of a mapping without read permission (scenario name <c>write-only</c>).</summary>
    ReadOfWriteOnly,

    /// <summary>The IOVA is above the page table's address width (scenario name <c>out-of-range</c>).</summary>
    BeyondWidth,
}
