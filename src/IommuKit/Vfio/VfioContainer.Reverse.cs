using IommuKit.Addressing;

namespace IommuKit.Vfio;

/// <content>Reverse lookup: process virtual address to IOVA through an index of the DMA records by vaddr (issue 6).</content>
public sealed partial class VfioContainer
{
    private readonly ReverseRangeIndex _byVaddr = new();

    /// <summary>
    /// The IOVA at which the process virtual address <paramref name="vaddr"/> is mapped, the lowest when several DMA
    /// records map it; false when none does. Records whose vaddr was invalidated (<c>VFIO_DMA_UNMAP_FLAG_VADDR</c>)
    /// map nothing until a <c>VFIO_DMA_MAP_FLAG_VADDR</c> gives them a new one.
    /// </summary>
    /// <remarks>
    /// O(log n) at n records plus the records whose vaddr range overlaps another's (see
    /// <see cref="ReverseRangeIndex"/>); QEMU's iova-tree (<c>iova_tree_find_iova</c>) walks every mapping. Not a
    /// kernel operation: type1 has no reverse lookup, so nothing here changes what the ioctls do.
    /// </remarks>
    public bool TryFindIova(ulong vaddr, out ulong iova) => _byVaddr.TryFind(vaddr, out iova);

    /// <summary>The vaddr index (for tests that count the nodes a lookup visits).</summary>
    internal ReverseRangeIndex VaddrIndex => _byVaddr;

    // MAP_DMA checked that vaddr + size - 1 does not wrap (step 4), and UPDATE_VADDR keeps the size.
    private void IndexVaddr(IovaRange iova, ulong vaddr) => _byVaddr.Add(IovaRange.FromStartSize(vaddr, iova.Size), iova.First);

    private void UnindexVaddr(IovaRange iova, ulong vaddr) => _byVaddr.Remove(IovaRange.FromStartSize(vaddr, iova.Size), iova.First);
}
