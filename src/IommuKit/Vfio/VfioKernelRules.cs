using IommuKit.Linux;

namespace IommuKit.Vfio;

/// <summary>
/// The type1 rules that differ between Linux kernel versions, switched in one place for a
/// <see cref="VfioContainer"/>. <see cref="Newest"/> (v6.18-rc4 and later) is the default.
/// </summary>
/// <remarks>
/// Only the deterministic differences are modelled: the errno of a wrapping <c>iova + size - 1</c> or
/// <c>vaddr + size - 1</c> (EINVAL before v6.18-rc4, EOVERFLOW after) and the size of the DMA_AVAIL capability in
/// <c>VFIO_IOMMU_GET_INFO</c> (12 bytes on 6.1, padded to 16 on 6.12), and whether the type1 nesting extension is
/// offered. The pre-v6.18-rc4 end-of-address-space bugs
/// (a mapping ending at 2^64 missed by lookups) depend on the kernel's rb-tree shape and are not modelled; the
/// conformance suite lists them as known divergences (conformance/README.md).
/// </remarks>
public sealed class VfioKernelRules
{
    private VfioKernelRules(string name, Errno wrapErrno, uint dmaAvailCapSize, bool hasType1Nesting)
    {
        HasType1Nesting = hasType1Nesting;
        Name = name;
        WrapErrno = wrapErrno;
        DmaAvailCapSize = dmaAvailCapSize;
    }

    /// <summary>v6.18-rc4 and later: EOVERFLOW on wrap, 16-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Newest { get; } = new("newest", Errno.EOVERFLOW, VfioInfoCapDmaAvail.StructSize, false);

    /// <summary>Linux 6.12 before the v6.18-rc4 type1 fix: EINVAL on wrap, 16-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Linux6_12 { get; } = new("6.12", Errno.EINVAL, VfioInfoCapDmaAvail.StructSize, true);

    /// <summary>Linux 6.1: EINVAL on wrap, unpadded 12-byte DMA_AVAIL capability.</summary>
    public static VfioKernelRules Linux6_1 { get; } = new("6.1", Errno.EINVAL, 12, true);

    /// <summary>
    /// Whether <c>VFIO_CHECK_EXTENSION(VFIO_TYPE1_NESTING_IOMMU)</c> answers 1 (the conformance goldens show 1 on 6.1
    /// and 6.12; the nesting type left type1 afterwards, so the newest kernels answer 0).
    /// </summary>
    public bool HasType1Nesting { get; }

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
