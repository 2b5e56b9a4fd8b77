using IommuKit.Addressing;
using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.Memory;
using IommuKit.MemoryMap;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>
/// A guest with 1 GiB of RAM at GPA 0 (system memory <c>ram0</c>), a VT-d unit, its driver (table frames from a
/// 64 MiB pool at GPA 0x3c00_0000 inside RAM), one domain, and device 00:03.0 attached to it with DMAR enabled.
/// </summary>
internal sealed class VtdFixture
{
    public const ulong RamSize = 1UL << 30;
    public const int Bus = 0;
    public const int DevFn = 3 << 3; // 00:03.0
    public static readonly IovaRange FramePool = IovaRange.FromStartSize(0x3c00_0000, 64UL << 20);

    public VtdFixture(bool cachingMode = true, int addressWidth = 39, bool attach = true, bool enable = true)
    {
        Map = new IommuKit.MemoryMap.MemoryMap();
        SystemRoot = Map.CreateContainer("system", ulong.MaxValue);
        Ram = Map.CreateRam("ram0", RamSize);
        SystemRoot.AddSubregion(0, Ram);
        GuestRam = new PhysicalMemory();
        GuestRam.AddBacking(IovaRange.FromStartSize(0, RamSize));
        Frames = new FrameAllocator(GuestRam, FramePool);
        Unit = new VtdIommu(Map, SystemRoot, GuestRam, new VtdOptions { AddressWidth = addressWidth, CachingMode = cachingMode });
        Driver = new GuestIommuDriver(Unit, Frames);
        Domain = Driver.CreateDomain();
        Device = Unit.GetDevice(Bus, DevFn);
        if (attach)
        {
            Driver.AttachDevice(Domain, Bus, DevFn);
        }

        if (enable)
        {
            Driver.EnableTranslation();
        }
    }

    public IommuKit.MemoryMap.MemoryMap Map { get; }

    public MemoryRegion SystemRoot { get; }

    public MemoryRegion Ram { get; }

    public PhysicalMemory GuestRam { get; }

    public FrameAllocator Frames { get; }

    public VtdIommu Unit { get; }

    public GuestIommuDriver Driver { get; }

    public GuestDomain Domain { get; }

    public VtdDeviceSpace Device { get; }

    public static IovaRange R(ulong first, ulong size) => IovaRange.FromStartSize(first, size);

    public RecordingNotifier Register(IommuNotifierFlags flags = IommuNotifierFlags.IotlbEvents, ulong start = 0, ulong end = ulong.MaxValue)
    {
        var n = new RecordingNotifier(flags, start, end);
        IommuRegistrationResult r = Device.RegisterNotifier(n.Notifier);
        Assert.True(r.IsOk, r.Message);
        return n;
    }
}
