namespace IommuKit.Scenarios;

/// <summary>The guest vIOMMU of a scenario (the top-level <c>guest-iommu</c> map).</summary>
/// <param name="Format">The guest page-table format (default <c>x86-sl-4level</c>).</param>
/// <param name="CachingMode">VT-d caching mode (default true, which VFIO needs to shadow mappings).</param>
public sealed record GuestIommuConfig(IommuFormat Format, bool CachingMode);
