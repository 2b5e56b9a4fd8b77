namespace IommuKit.Scenarios;

/// <summary><c>ioas-allow-iovas</c>: IOMMU_IOAS_ALLOW_IOVAS.</summary>
/// <param name="Ranges">The allowed ranges as written (possibly inverted or overlapping: the kernel judges).</param>
public sealed record IoasAllowIovasStep(IReadOnlyList<ScenarioRange> Ranges) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.IoasAllowIovas;
}
