using IommuKit.Linux;

namespace IommuKit.Vfio;

/// <summary>
/// The type1 rules that differ between Linux kernel versions, switched in one place for a
/// <see cref="VfioContainer"/>. <see cref="Newest"/> (v6.18-rc4 and later) is the default.
/// </summary>
/// <remarks>
/// Only the deterministic differences are modelled: the errno of a wrapping <c>iova + size - 1</c> or
/// <c>vaddr + size - 1</c> (EINVAL before v6.18-rc4, EOVERFLOW after), the size of the DMA_AVAIL capability in
/// <c>VFIO_IOMMU_GET_INFO</c> (12 bytes on 6.1, padded to 16 on 6.12), whether the type1 nesting extension is
/// offered, and the part of the pre-v6.18-rc4 end-of-address-space bugs that does not depend on the rb-tree's shape
/// (<see cref="LosesMappingsEndingAtTop"/>). The rest of those bugs (a lookup that passes through such a mapping's
/// node misses ordinary mappings too) depends on the shape and is listed by the conformance suite as known
/// divergences (conformance/README.md).
/// </remarks>
public sealed class VfioKernelRules
{
    private VfioKernelRules(string name, Errno wrapErrno, uint dmaAvailCapSize, bool hasType1Nesting, bool losesMappingsEndingAtTop)
    {
        LosesMappingsEndingAtTop = losesMappingsEndingAtTop;
        HasType1Nesting = hasType1Nesting;
        Name = name;
        WrapErrno = wrapErrno;
        DmaAvailCapSize = dmaAvailCapSize;
    }

    /// <summary>v6.18-rc4 and later: EOVERFLOW on wrap, 16-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Newest { get; } = new("newest", Errno.EOVERFLOW, VfioInfoCapDmaAvail.StructSize, false, false);

    /// <summary>Linux 6.12 before the v6.18-rc4 type1 fix: EINVAL on wrap, 16-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Linux6_12 { get; } = new("6.12", Errno.EINVAL, VfioInfoCapDmaAvail.StructSize, true, true);

    /// <summary>Linux 6.1: EINVAL on wrap, unpadded 12-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Linux6_1 { get; } = new("6.1", Errno.EINVAL, 12, true, true);

    /// <summary>
    /// Whether <c>VFIO_CHECK_EXTENSION(VFIO_TYPE1_NESTING_IOMMU)</c> answers 1 (the conformance goldens show 1 on 6.1
    /// and 6.12; the nesting type left type1 afterwards, so the newest kernels answer 0).
    /// </summary>
    public bool HasType1Nesting { get; }

    /// <summary>
    /// Whether a mapping that ends at 2^64 (its last byte is 2^64-1) is lost to every lookup, as before v6.18-rc4
    /// (real-kernel-in-vm.md §5.3, conformance/golden/*-virtio.json and deb61-amd.json, step files 40-42).
    /// </summary>
    /// <remarks>
    /// <para>Pre-fix type1 compares against the exclusive end <c>iova + size</c>, which is 0 for such a mapping:
    /// <c>vfio_find_dma</c> never returns it and a query range that itself ends at 2^64 finds nothing at all, and
    /// <c>vfio_find_dma_first_node</c> never starts an unmap at it. Modelled consequences, each pinned by a golden step:</para>
    /// <list type="bullet">
    /// <item>MAP's overlap check does not see it, and a MAP that ends at 2^64 sees no mapping at all: duplicate and
    /// overlapping maps succeed (each takes a DMA_AVAIL slot); MAP{VADDR} of it is ENOENT.</item>
    /// <item>UNMAP by range never removes it (0 bytes) and the v2 bisect check ignores it; UNMAP_ALL misses it;
    /// UNMAP{VADDR} never marks it. An UNMAP (or UNMAP{VADDR}) whose own range ends at 2^64 removes nothing at all:
    /// <c>vfio_find_dma_first_node</c> drops any first node with <c>iova >= start + size</c>, and that sum is 0.</item>
    /// <item>So its DMA_AVAIL slot and its pins leak until the container goes away.</item>
    /// </list>
    /// <para>Not modelled (the answer depends on where the node sits in the rb-tree): while such a mapping is in
    /// the tree, a lookup whose path passes through its node turns right and misses ordinary mappings to its left
    /// (unrelated maps, unmaps and VADDR updates miss them), and an unmap (UNMAP_ALL included) that walks the tree in
    /// order from an ordinary mapping below it may reach and remove it after all, even when the range bisects it. The
    /// modelled answers are exact while the lost mappings are the only ones in the container.</para>
    /// </remarks>
    public bool LosesMappingsEndingAtTop { get; }

    /// <summary>The profile's name as the scenario key <c>container.kernel</c> spells it.</summary>
    public string Name { get; }

    /// <summary>The errno of a MAP or UNMAP whose <c>start + size - 1</c> passes 2^64-1.</summary>
    public Errno WrapErrno { get; }

    /// <summary>The bytes the DMA_AVAIL capability occupies in the GET_INFO chain.</summary>
    public uint DmaAvailCapSize { get; }

    /// <summary>The profile named <paramref name="name"/> (<c>newest</c>, <c>6.12</c>, <c>6.1</c>), or null.</summary>
    public static VfioKernelRules? FromName(string name) => name switch
    {
        "newest" => Newest,
        "6.12" => Linux6_12,
        "6.1" => Linux6_1,
        _ => null,
    };

    /// <inheritdoc/>
    public override string ToString() => Name;
}
