namespace IommuKit.Scenarios;

/// <summary>The memory map of a scenario (the top-level <c>machine</c> map).</summary>
/// <param name="Regions">The regions in file order (names unique; parents and alias targets name regions of the list).</param>
/// <param name="Listener">The listener attached to the container.</param>
public sealed record MachineConfig(IReadOnlyList<RegionConfig> Regions, ListenerKind Listener);
