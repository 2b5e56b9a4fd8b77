namespace IommuKit.Scenarios;

/// <summary><c>map</c>: VFIO_IOMMU_MAP_DMA.</summary>
/// <param name="Iova">The IOVA.</param>
/// <param name="Size">The size as written (0 .. 2^64; the container answers what the kernel would).</param>
/// <param name="Vaddr">The process virtual address.</param>
/// <param name="Flags">The flags; <c>[read, write]</c> when <c>flags</c> is absent, none for <c>flags: []</c>.</param>
public sealed record MapStep(ulong Iova, UInt128 Size, ulong Vaddr, MapStepFlags Flags) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.Map;
}
