namespace IommuKit.Scenarios;

/// <summary><c>ioas-map</c>: IOMMU_IOAS_MAP; output <c>iova</c>.</summary>
/// <param name="Length">The length as written (0 .. 2^64).</param>
/// <param name="UserVa">The process virtual address.</param>
/// <param name="Iova">The IOVA for <c>fixed-iova</c>; <see langword="null"/> when absent.</param>
/// <param name="Flags">
/// The flags; when <c>flags</c> is absent, <c>[readable, writeable]</c> plus <c>fixed-iova</c> if <c>iova</c> is given.
/// </param>
public sealed record IoasMapStep(UInt128 Length, ulong UserVa, ulong? Iova, IoasMapStepFlags Flags) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasMap;
}
