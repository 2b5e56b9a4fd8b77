using IommuKit.Addressing;

namespace IommuKit.Memory;

/// <summary>A backed range of the calling process's virtual memory and its permissions.</summary>
/// <param name="Va">The inclusive user virtual range (page aligned).</param>
/// <param name="Permissions">What the process may do with it.</param>
public readonly record struct HostMemoryRegion(IovaRange Va, HostMemoryPermissions Permissions);
