namespace IommuKit.Scenarios;

/// <summary>
/// <c>guest-invalidate</c>: a vIOMMU IOTLB invalidation. For <c>page</c>, <paramref name="Iova"/> and
/// <paramref name="Size"/> are given as written; a size that is not a naturally aligned power of two from 4K to 1G
/// is for the executor to reject with EINVAL.
/// </summary>
/// <param name="Scope">The scope.</param>
/// <param name="Iova">For <c>page</c>: the IOVA; otherwise <see langword="null"/>.</param>
/// <param name="Size">For <c>page</c>: the size; otherwise <see langword="null"/>.</param>
public sealed record GuestInvalidateStep(InvalidationScope Scope, ulong? Iova, UInt128? Size) : ScenarioStep
{
    /// <inheritdoc />
    public override string Op => ScenarioOps.GuestInvalidate;
}
