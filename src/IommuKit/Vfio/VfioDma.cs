using IommuKit.Addressing;

namespace IommuKit.Vfio;

/// <summary>A read-only view of one type1 mapping record (<c>struct vfio_dma</c>): one per successful MAP.</summary>
/// <param name="Iova">The inclusive IOVA range.</param>
/// <param name="Vaddr">The process virtual address of the first byte.</param>
/// <param name="Read">The device may read.</param>
/// <param name="Write">The device may write.</param>
/// <param name="VaddrInvalid">Invalidated by <see cref="VfioDmaUnmapFlags.Vaddr"/> and not yet rebound.</param>
/// <param name="PinnedVaddr">The first process virtual address of the pages this record holds pinned (the vaddr at
/// pin time; a VADDR rebind does not re-pin), or null when nothing is pinned (no IOMMU domain).</param>
public readonly record struct VfioDma(IovaRange Iova, ulong Vaddr, bool Read, bool Write, bool VaddrInvalid, ulong? PinnedVaddr);
