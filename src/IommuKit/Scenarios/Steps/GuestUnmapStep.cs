namespace IommuKit.Scenarios;

/// <summary><c>guest-unmap</c>: the guest clears <c>[iova, iova + size)</c> in its IO page tables.</summary>
/// <param name="Iova">The guest IOVA.</param>
/// <param name="Size">The size as written.</param>
/// <param name="Device">The device whose domain is written; <see langword="null"/>: the shared domain.</param>
public sealed record GuestUnmapStep(ulong Iova, UInt128 Size, string? Device) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GuestUnmap;
}
