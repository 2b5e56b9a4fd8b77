namespace IommuKit.Scenarios;

/// <summary>
/// <c>ioas-map-range</c> (an IommuKit addition): the IOAS's native map of an inclusive range, which can cover the
/// whole 2^64 space in one call; otherwise the FIXED_IOVA rules of IOMMU_IOAS_MAP.
/// </summary>
/// <param name="Range">The IOVA range as written (<c>first</c>, <c>last</c>; an inverted one is the executor's EINVAL).</param>
/// <param name="UserVa">The process virtual address of the first byte.</param>
/// <param name="Flags">The access flags (<c>readable</c>, <c>writeable</c>; default both); <c>fixed-iova</c> is implied.</param>
public sealed record IoasMapRangeStep(ScenarioRange Range, ulong UserVa, IoasMapStepFlags Flags) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasMapRange;
}
