namespace IommuKit.Scenarios;

/// <summary>A memory region (an entry of <c>machine.regions</c>, or the region of a <c>region-add</c> step).</summary>
/// <param name="Name">The unique region name.</param>
/// <param name="Kind">The region kind.</param>
/// <param name="Offset">The offset in the parent (default 0).</param>
/// <param name="Size">The size (0 .. 2^64).</param>
/// <param name="Priority">The priority among overlapping siblings (default 0; may be negative as in QEMU).</param>
/// <param name="Parent">The parent region name; <see langword="null"/>: the system memory root.</param>
/// <param name="Target">For <c>alias</c>: the aliased region.</param>
/// <param name="TargetOffset">For <c>alias</c>: the offset in <paramref name="Target"/> (default 0).</param>
/// <param name="ReadOnly">Whether the region is read-only (default false; <c>rom</c> is read-only regardless).</param>
/// <param name="Enabled">Whether the region is enabled (default true).</param>
public sealed record RegionConfig(
    string Name,
    RegionKind Kind,
    ulong Offset,
    UInt128 Size,
    int Priority,
    string? Parent,
    string? Target,
    ulong TargetOffset,
    bool ReadOnly,
    bool Enabled)
{
    /// <summary>Where the region is written.</summary>
    public SourcePosition Position { get; init; }
}
