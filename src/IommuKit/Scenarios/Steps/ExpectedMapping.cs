namespace IommuKit.Scenarios;

/// <summary>An entry of <c>expect-mappings</c>: <c>[iova, last, vaddr]</c>.</summary>
/// <param name="Iova">The first IOVA.</param>
/// <param name="Last">The last IOVA (inclusive).</param>
/// <param name="Vaddr">The vaddr; <see langword="null"/> when left out (not checked).</param>
public readonly record struct ExpectedMapping(ulong Iova, ulong Last, ulong? Vaddr);
