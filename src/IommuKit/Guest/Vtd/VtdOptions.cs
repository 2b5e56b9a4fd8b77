using IommuKit.Iommu;

namespace IommuKit.Guest.Vtd;

/// <summary>How to build a <see cref="VtdIommu"/> (QEMU's <c>intel-iommu</c> device properties).</summary>
public sealed class VtdOptions
{
    /// <summary>The guest address width, <c>aw-bits</c>: 39 (3-level tables) or 48 (4-level); 39 by default as in QEMU.</summary>
    public int AddressWidth { get; set; } = 39;

    /// <summary><c>caching-mode</c> (CAP_REG.CM): the guest invalidates after creating entries too. Off by default.</summary>
    public bool CachingMode { get; set; }

    /// <summary><c>device-iotlb</c>: accept DEVIOTLB_UNMAP notifiers (fed by device-IOTLB descriptors). Off by default.</summary>
    public bool DeviceIotlb { get; set; }

    /// <summary>The shape of each domain's guest IOTLB.</summary>
    public IotlbGeometry Iotlb { get; set; } = IotlbGeometry.Default;

    /// <summary>Fault records kept before the fault log overflows.</summary>
    public int FaultLogCapacity { get; set; } = 256;
}
