using IommuKit.Addressing;
using IommuKit.Linux;

namespace IommuKit.Vfio;

/// <summary>
/// The container calls a <see cref="VfioListener"/> makes (QEMU's <c>VFIOIOMMUClass</c> dma_map / dma_unmap): one
/// adapter per container kind (<see cref="VfioListenerType1Backend"/>, <see cref="VfioListenerIommufdBackend"/>).
/// </summary>
/// <remarks>
/// The UAPI calls take 64-bit sizes (1 .. 2^64-1). A 2^64 range is never passed to <see cref="Map"/> or
/// <see cref="Unmap"/>: the listener uses <see cref="UnmapFullRange"/> when <see cref="SupportsFullRange"/>, else
/// <see cref="UnmapAll"/> when <see cref="SupportsUnmapAll"/>, else two calls of 2^63.
/// </remarks>
public interface IVfioListenerBackend
{
    /// <summary>A short name for traces (<c>vfio-type1v2</c>, <c>iommufd</c>).</summary>
    string Name { get; }

    /// <summary>The smallest IOMMU page the container maps (QEMU: the lowest bit of <c>pgsizes</c>), a power of two.</summary>
    ulong MinIommuPageSize { get; }

    /// <summary>True when <see cref="UnmapAll"/> exists (type1 <c>VFIO_UNMAP_ALL</c> extension; always for iommufd).</summary>
    bool SupportsUnmapAll { get; }

    /// <summary>True when the IommuKit-native full-range calls (<see cref="MapFullRange"/>, <see cref="UnmapFullRange"/>) exist.</summary>
    bool SupportsFullRange { get; }

    /// <summary>Maps <c>[iova, iova + size - 1]</c> to the process memory at <paramref name="vaddr"/>; read-only when asked.</summary>
    Errno Map(ulong iova, ulong size, ulong vaddr, bool readOnly);

    /// <summary>Unmaps <c>[iova, iova + size - 1]</c> (size 1 .. 2^64-1).</summary>
    Errno Unmap(ulong iova, ulong size);

    /// <summary>Unmaps everything: type1 <c>VFIO_DMA_UNMAP_FLAG_ALL</c> (iova 0, size 0) or iommufd <c>(0, U64_MAX)</c>.</summary>
    /// <param name="iova">The iova argument passed to the kernel (for the call record).</param>
    /// <param name="size">The size argument passed to the kernel (for the call record).</param>
    Errno UnmapAll(out ulong iova, out ulong size);

    /// <summary>IommuKit-native map of any inclusive range, 2^64 included. EOPNOTSUPP when not <see cref="SupportsFullRange"/>.</summary>
    Errno MapFullRange(IovaRange range, ulong vaddr, bool readOnly) => Errno.EOPNOTSUPP;

    /// <summary>IommuKit-native unmap of any inclusive range, 2^64 included. EOPNOTSUPP when not <see cref="SupportsFullRange"/>.</summary>
    Errno UnmapFullRange(IovaRange range) => Errno.EOPNOTSUPP;
}
