namespace IommuKit.Scenarios;

/// <summary>An entry of <c>expect-flatview</c>: <c>[first, last, region-name]</c>.</summary>
/// <param name="First">The first address.</param>
/// <param name="Last">The last address (inclusive).</param>
/// <param name="Region">The name of the region that owns the range.</param>
public readonly record struct ExpectedFlatRange(ulong First, ulong Last, string Region);
