namespace IommuKit.Scenarios;

/// <summary>
/// <c>dma</c>: a device access. Reads report output <c>data</c>; a refused access reports a
/// <see cref="ScenarioFault"/> (<see cref="StepOutcome.Faulted"/>).
/// </summary>
/// <param name="Device">The device (declared under <c>devices</c>).</param>
/// <param name="Iova">The device address.</param>
/// <param name="Length">The length in bytes (at most <see cref="MaxLength"/>).</param>
/// <param name="Direction">Read or write.</param>
/// <param name="Data">For writes: the bytes written (exactly <paramref name="Length"/>); <see langword="null"/>: zeros.</param>
public sealed record DmaStep(string Device, ulong Iova, ulong Length, DmaDirection Direction, ReadOnlyMemory<byte>? Data) : ScenarioStep
{
    /// <summary>The longest DMA a step may do (1M): a file cannot make the runner allocate more.</summary>
    public const ulong MaxLength = 1UL << 20;

    /// <inheritdoc />
    public override string Op => ScenarioOps.Dma;
}
