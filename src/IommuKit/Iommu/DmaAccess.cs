namespace IommuKit.Iommu;

/// <summary>The kind of a DMA access a device makes through the IOMMU.</summary>
/// <remarks>A read-modify-write access (an atomic) is <c>Read | Write</c> and needs both permissions.</remarks>
[Flags]
public enum DmaAccess
{
    /// <summary>The device reads memory (a DMA read request, VT-d fault record type 1).</summary>
    Read = 1,

    /// <summary>The device writes memory (a DMA write request, VT-d fault record type 0).</summary>
    Write = 2,

    /// <summary>Both: an atomic read-modify-write.</summary>
    ReadWrite = Read | Write,
}
