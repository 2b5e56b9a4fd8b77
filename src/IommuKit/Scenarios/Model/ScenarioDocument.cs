namespace IommuKit.Scenarios;

/// <summary>A parsed, valid scenario file: the machine to build and the steps to run against it.</summary>
/// <remarks>
/// Produced only by <see cref="ScenarioParser"/>, which checks everything structural (keys, ops, numbers, ranges,
/// names). What the modelled kernel or QEMU would reject at run time (a zero size, an unaligned iova) is kept as
/// written, for the executor to answer with the errno.
/// </remarks>
public sealed class ScenarioDocument
{
    /// <summary>The top-level keys that configure the machine (everything but <c>name</c>, <c>description</c>, <c>steps</c>).</summary>
    public static IReadOnlyList<string> MachineSections { get; } =
        ["iommu", "container", "host-memory", "machine", "guest-iommu", "devices"];

    /// <summary>The file (path or label) it was parsed from.</summary>
    public required string File { get; init; }

    /// <summary>The <c>name</c>; <see langword="null"/> when absent.</summary>
    public string? Name { get; init; }

    /// <summary>The <c>description</c>; <see langword="null"/> when absent.</summary>
    public string? Description { get; init; }

    /// <summary>The host IOMMU (defaults when absent).</summary>
    public IommuConfig Iommu { get; init; } = IommuConfig.Default;

    /// <summary>The container (defaults when absent).</summary>
    public ContainerConfig Container { get; init; } = ContainerConfig.Default;

    /// <summary>The process's backed memory (<see cref="HostMemoryRegion.Default"/> when absent).</summary>
    public IReadOnlyList<HostMemoryRegion> HostMemory { get; init; } = HostMemoryRegion.Default;

    /// <summary>The memory map; <see langword="null"/> when absent.</summary>
    public MachineConfig? Machine { get; init; }

    /// <summary>The guest vIOMMU; <see langword="null"/> when absent.</summary>
    public GuestIommuConfig? GuestIommu { get; init; }

    /// <summary>The devices, in file order (names unique).</summary>
    public IReadOnlyList<DeviceConfig> Devices { get; init; } = [];

    /// <summary>The steps, in file order.</summary>
    public IReadOnlyList<ScenarioStep> Steps { get; init; } = [];

    /// <summary>The top-level keys written in the file, with the position of each key.</summary>
    public IReadOnlyDictionary<string, SourcePosition> Sections { get; init; } = new Dictionary<string, SourcePosition>();

    /// <summary>The position of the document's top-level map.</summary>
    public SourcePosition Position { get; init; }
}
