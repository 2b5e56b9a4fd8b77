namespace IommuKit.Scenarios;

/// <summary><c>guest-map</c>: the guest maps <c>[iova, iova + size)</c> to <paramref name="Gpa"/> in its IO page tables.</summary>
/// <param name="Iova">The guest IOVA.</param>
/// <param name="Gpa">The guest-physical address.</param>
/// <param name="Size">The size as written.</param>
/// <param name="Perm">The permission.</param>
/// <param name="Device">The device whose domain is written; <see langword="null"/>: the shared domain.</param>
public sealed record GuestMapStep(ulong Iova, ulong Gpa, UInt128 Size, AccessPermissions Perm, string? Device) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GuestMap;
}
