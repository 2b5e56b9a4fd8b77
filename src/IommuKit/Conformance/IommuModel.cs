using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.PageTables;

namespace IommuKit.Conformance;

/// <summary>
/// The geometry of one of QEMU's emulated IOMMUs as the golden kernels reported it through VFIO: aperture, page-size
/// bitmap, the group's reserved regions and whether the domain enforces cache coherency.
/// </summary>
/// <param name="Name">The model's name in golden file names: <c>intel</c>, <c>intel48</c>, <c>amd</c>, <c>virtio</c>.</param>
/// <param name="Aperture">The domain aperture.</param>
/// <param name="PageSizes">The domain's <c>pgsize_bitmap</c>.</param>
/// <param name="Reserved">The group's reserved regions (<c>/sys/kernel/iommu_groups/N/reserved_regions</c>).</param>
/// <param name="EnforcesCacheCoherency">What <c>VFIO_DMA_CC_IOMMU</c> reads after SET_IOMMU.</param>
public sealed record IommuModel(string Name, IovaRange Aperture, PageSizes PageSizes, IReadOnlyList<IovaRange> Reserved, bool EnforcesCacheCoherency)
{
    /// <summary>The x86 MSI window every model reserves: <c>[0xfee00000, 0xfeefffff]</c>.</summary>
    public static IovaRange MsiWindow { get; } = IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff);

    /// <summary>AMD's HyperTransport hole, reserved by amd-iommu: <c>[0xfd00000000, 0xffffffffff]</c>.</summary>
    public static IovaRange HyperTransportHole { get; } = IovaRange.FromFirstLast(0xfd_0000_0000, 0xff_ffff_ffff);

    /// <summary>Whether a domain of this model can be an <see cref="Iommu.IommuDomain"/> (a page table IommuKit
    /// has): only intel; virtio and amd have 64-bit apertures.</summary>
    public bool HasPageTable => Aperture.Last < (1UL << 48);

    /// <summary>
    /// The model named <paramref name="name"/> with <paramref name="reserved"/> (the golden's reserved regions), or
    /// the model's usual ones when null; null for an unknown name.
    /// </summary>
    /// <remarks>
    /// intel: QEMU 7.2 intel-iommu, 39-bit aperture (<c>intel48</c>: <c>aw-bits=48</c>), 4K|2M|1G, no snoop control
    /// (DMA_CC_IOMMU 0). virtio: 64-bit aperture, <c>PAGE_MASK</c> page sizes, not coherent-enforcing (DMA_CC 0).
    /// amd: 64-bit aperture, every power of two from 4K except 2^39 (<c>0xffffff7ffffff000</c>), coherent (DMA_CC 1),
    /// the HyperTransport hole reserved. All from the goldens (conformance/README.md "What is captured").
    /// </remarks>
    public static IommuModel? FromName(string name, IReadOnlyList<IovaRange>? reserved = null) => name switch
    {
        "intel" => new(name, IovaRange.FromFirstLast(0, (1UL << 39) - 1), PageSizes.X86, reserved ?? [MsiWindow], false),
        "intel48" => new(name, IovaRange.FromFirstLast(0, (1UL << 48) - 1), PageSizes.X86, reserved ?? [MsiWindow], false),
        "virtio" => new(name, IovaRange.Full, new PageSizes(~(PageSizes.Size4K - 1)), reserved ?? [MsiWindow], false),
        "amd" => new(name, IovaRange.Full, new PageSizes(0xffff_ff7f_ffff_f000), reserved ?? [MsiWindow, HyperTransportHole], true),
        _ => null,
    };

    /// <summary>
    /// The <see cref="IommuDomain"/> options of a model with a page table (<see cref="HasPageTable"/>): a VT-d
    /// second-level table of the aperture's width.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has a 64-bit aperture.</exception>
    public IommuDomainOptions ToDomainOptions()
    {
        if (!HasPageTable)
        {
            ThrowHelper.ThrowInvalidOperation($"the {Name} model's aperture {Aperture} passes every page-table format's width");
        }

        return new IommuDomainOptions
        {
            Format = Aperture.Last < (1UL << 39) ? PageTableFormat.X86SecondLevel3Level : PageTableFormat.X86SecondLevel4Level,
            Aperture = Aperture,
            PageSizes = PageSizes,
            Reserved = Reserved,
            EnforceCacheCoherency = EnforcesCacheCoherency,
        };
    }
}
