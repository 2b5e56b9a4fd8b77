namespace IommuKit.Scenarios;

/// <summary>The <c>flags</c> of a <c>map</c> step; values are VFIO_DMA_MAP_FLAG_* of the Linux UAPI.</summary>
[Flags]
public enum MapStepFlags
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary><c>read</c>: VFIO_DMA_MAP_FLAG_READ.</summary>
    Read = 1 << 0,

    /// <summary><c>write</c>: VFIO_DMA_MAP_FLAG_WRITE.</summary>
    Write = 1 << 1,

    /// <summary><c>vaddr</c>: VFIO_DMA_MAP_FLAG_VADDR (update the vaddr of an existing mapping).</summary>
    Vaddr = 1 << 2,
}
