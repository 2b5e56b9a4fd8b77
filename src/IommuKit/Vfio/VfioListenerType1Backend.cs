using IommuKit.Linux;

namespace IommuKit.Vfio;

/// <summary>
/// The <see cref="VfioListener"/> adapter for a VFIO type1 container (QEMU's legacy backend,
/// <c>hw/vfio/container-legacy.c</c>): <c>VFIO_IOMMU_MAP_DMA</c>, <c>VFIO_IOMMU_UNMAP_DMA</c>, and
/// <c>VFIO_DMA_UNMAP_FLAG_ALL</c> (iova 0, size 0) when the <c>VFIO_UNMAP_ALL</c> extension is present.
/// </summary>
public sealed class VfioListenerType1Backend : IVfioListenerBackend
{
    /// <summary>Wraps <paramref name="container"/> (its IOMMU type set).</summary>
    public VfioListenerType1Backend(VfioContainer container)
    {
        ArgumentNullException.ThrowIfNull(container);
        Container = container;
    }

    /// <summary>The container driven.</summary>
    public VfioContainer Container { get; }

    /// <inheritdoc />
    public string Name => Container.IsV2 ? "vfio-type1v2" : "vfio-type1";

    /// <inheritdoc />
    public ulong MinIommuPageSize => Container.MinPageSize;

    /// <inheritdoc />
    public bool SupportsUnmapAll => Container.CheckExtension(VfioExtension.UnmapAll) == 1;

    /// <inheritdoc />
    public bool SupportsFullRange => false;

    /// <inheritdoc />
    public Errno Map(ulong iova, ulong size, ulong vaddr, bool readOnly)
    {
        VfioDmaMapFlags flags = VfioDmaMapFlags.Read | (readOnly ? VfioDmaMapFlags.None : VfioDmaMapFlags.Write);
        return Container.MapDma(new VfioDmaMap(iova, size, vaddr, flags));
    }

    /// <inheritdoc />
    public Errno Unmap(ulong iova, ulong size)
    {
        var unmap = new VfioDmaUnmap(iova, size);
        return Container.UnmapDma(ref unmap);
    }

    /// <inheritdoc />
    public Errno UnmapAll(out ulong iova, out ulong size)
    {
        iova = 0;
        size = 0;
        var unmap = new VfioDmaUnmap(0, 0, VfioDmaUnmapFlags.All);
        return Container.UnmapDma(ref unmap);
    }
}
