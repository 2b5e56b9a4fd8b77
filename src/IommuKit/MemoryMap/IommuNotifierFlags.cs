namespace IommuKit.MemoryMap;

/// <summary>
/// What an <see cref="IommuNotifier"/> wants to hear, and the type of an <see cref="IommuTlbEvent"/> (QEMU's
/// <c>IOMMUNotifierFlag</c>, <c>include/exec/memory.h</c>). Values are QEMU's.
/// </summary>
[Flags]
public enum IommuNotifierFlags
{
    /// <summary>Nothing; a notifier with no flag cannot be registered.</summary>
    None = 0,

    /// <summary>Cache invalidations: an entry went away (its <see cref="IommuTlbEntry.Permissions"/> is None).</summary>
    Unmap = 0x1,

    /// <summary>Newly created entries (needs VT-d caching mode).</summary>
    Map = 0x2,

    /// <summary>Device-IOTLB invalidations (QEMU 6.0+), for vhost-style cache users.</summary>
    DevIotlbUnmap = 0x4,

    /// <summary><see cref="Map"/> | <see cref="Unmap"/>: what a shadow page table (VFIO) needs.</summary>
    IotlbEvents = Map | Unmap,
}
