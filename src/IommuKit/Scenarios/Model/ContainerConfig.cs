namespace IommuKit.Scenarios;

/// <summary>The container of a scenario (the top-level <c>container</c> map).</summary>
/// <param name="Kind">The container kind (default <c>vfio-type1v2</c>).</param>
/// <param name="DmaEntryLimit">vfio-type1*: the most mappings before ENOSPC (default 65535, the module parameter).</param>
/// <param name="Domain">Whether an IOMMU domain is attached (default true).</param>
/// <param name="Kernel">Whose rules apply (default <c>newest</c>).</param>
public sealed record ContainerConfig(ContainerKind Kind, ulong DmaEntryLimit, bool Domain, KernelVersion Kernel)
{
    /// <summary>The type1 module's default <c>dma_entry_limit</c>.</summary>
    public const ulong DefaultDmaEntryLimit = 65535;

    /// <summary>The defaults: <c>vfio-type1v2</c>, 65535 entries, a domain, newest rules.</summary>
    public static ContainerConfig Default { get; } = new(ContainerKind.VfioType1v2, DefaultDmaEntryLimit, true, KernelVersion.Newest);
}
