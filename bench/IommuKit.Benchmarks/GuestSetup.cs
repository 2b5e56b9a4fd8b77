using IommuKit.Addressing;
using IommuKit.Devices;
using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Benchmarks;

/// <summary>A guest with 1 GiB of RAM, a VT-d unit with caching mode, one domain and device 00:03.0, plus a host domain mapping guest RAM.</summary>
internal sealed class GuestSetup
{
    public const ulong RamSize = 1UL << 30;
    public const ulong HostRamBase = 0x2_0000_0000;

    public GuestSetup(int addressWidth)
    {
        var map = new MemoryMap.MemoryMap();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        system.AddSubregion(0, map.CreateRam("ram0", RamSize));
        GuestRam = new PhysicalMemory();
        GuestRam.AddBacking(IovaRange.FromStartSize(0, RamSize));
        Unit = new VtdIommu(map, system, GuestRam, new VtdOptions { AddressWidth = addressWidth, CachingMode = true });
        Driver = new GuestIommuDriver(Unit, new FrameAllocator(GuestRam, IovaRange.FromStartSize(0x2000_0000, 512UL << 20)));
        Domain = Driver.CreateDomain();
        Driver.AttachDevice(Domain, 0, 3 << 3);
        Driver.EnableTranslation();
        Device = Unit.GetDevice(0, 3 << 3);

        HostMemory = new PhysicalMemory();
        HostMemory.AddBacking(IovaRange.FromStartSize(HostRamBase, RamSize));
        HostDomain = new IommuDomain(new FrameAllocator(HostMemory));
        HostDomain.Map(IovaRange.FromStartSize(0, RamSize), HostRamBase, Permissions.ReadWrite);
        Dma = new DmaDevice("nic0", new IommuDomainDmaPath(HostDomain, HostMemory), Device);
    }

    public PhysicalMemory GuestRam { get; }

    public VtdIommu Unit { get; }

    public GuestIommuDriver Driver { get; }

    public GuestDomain Domain { get; }

    public VtdDeviceSpace Device { get; }

    public PhysicalMemory HostMemory { get; }

    public IommuDomain HostDomain { get; }

    public DmaDevice Dma { get; }
}
