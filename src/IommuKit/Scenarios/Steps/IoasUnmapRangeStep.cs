namespace IommuKit.Scenarios;

/// <summary>
/// <c>ioas-unmap-range</c> (an IommuKit addition): the IOAS's native unmap of an inclusive range; output <c>size</c>,
/// the bytes unmapped, which may be 2^64.
/// </summary>
/// <param name="Range">The IOVA range as written (<c>first</c>, <c>last</c>; an inverted one is the executor's EINVAL).</param>
public sealed record IoasUnmapRangeStep(ScenarioRange Range) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasUnmapRange;
}
