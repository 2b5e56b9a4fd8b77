namespace IommuKit.PageTables;

/// <summary>DMA access permissions of a mapping (the kernel's <c>IOMMU_READ</c> / <c>IOMMU_WRITE</c>).</summary>
[Flags]
public enum Permissions
{
    /// <summary>No access: cannot be mapped (an entry with no permission is not present in VT-d).</summary>
    None = 0,

    /// <summary>The device may read (DMA to the device).</summary>
    Read = 1,

    /// <summary>The device may write (DMA from the device).</summary>
    Write = 2,

    /// <summary>Read and write.</summary>
    ReadWrite = Read | Write,
}
