namespace IommuKit.Devices;

/// <summary>Which address a device behind the guest vIOMMU presents to the host stage.</summary>
public enum HostIovaSource
{
    /// <summary>
    /// The guest stage's output, a guest-physical address: nested translation, the host domain maps guest RAM
    /// (what a container holds for RAM sections, and what a device behind <c>none</c> uses).
    /// </summary>
    GuestPhysical,

    /// <summary>
    /// The guest IOVA itself: the host domain holds the shadow of the guest's mappings (what the VFIO listener builds
    /// from MAP/UNMAP notifications); the guest stage still checks and reports faults and staleness.
    /// </summary>
    GuestIova,
}
