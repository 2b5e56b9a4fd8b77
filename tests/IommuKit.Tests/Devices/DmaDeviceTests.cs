using IommuKit.Addressing;
using IommuKit.Devices;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.PageTables;
using IommuKit.Tests.Guest.Vtd;

namespace IommuKit.Tests.Devices;

/// <summary>DMA through the guest vIOMMU and the host domain into host memory.</summary>
public class DmaDeviceTests
{
    private const ulong HostRamBase = 0x2_0000_0000; // guest RAM [0, 1 GiB) lives at host 8 GiB

    private sealed class Setup
    {
        public Setup(bool cachingMode = true, HostIovaSource source = HostIovaSource.GuestPhysical)
        {
            Guest = new VtdFixture(cachingMode);
            HostMemory = new PhysicalMemory();
            HostMemory.AddBacking(IovaRange.FromStartSize(HostRamBase, VtdFixture.RamSize));
            HostDomain = new IommuDomain(new FrameAllocator(HostMemory));
            if (source == HostIovaSource.GuestPhysical)
            {
                HostDomain.Map(IovaRange.FromStartSize(0, VtdFixture.RamSize), HostRamBase, Permissions.ReadWrite);
            }

            Device = new DmaDevice("nic0", new IommuDomainDmaPath(HostDomain, HostMemory), Guest.Device, source);
        }

        public VtdFixture Guest { get; }

        public PhysicalMemory HostMemory { get; }

        public IommuDomain HostDomain { get; }

        public DmaDevice Device { get; }

        public void GuestMap(ulong iova, ulong size, ulong gpa, Permissions p = Permissions.ReadWrite) =>
            Assert.Equal(PageTableStatus.Ok, Guest.Driver.Map(Guest.Domain, IovaRange.FromStartSize(iova, size), gpa, p));

        public byte[] HostBytes(ulong hpa, int length)
        {
            var b = new byte[length];
            HostMemory.Read(hpa, b);
            return b;
        }
    }

    private static byte[] Pattern(int length, int seed = 1)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        return b;
    }

    [Fact]
    public void A_write_to_a_guest_buffer_lands_in_host_memory_across_pages()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x3000, 0x10_0000);
        byte[] data = Pattern(0x2000);

        DmaResult r = s.Device.Write(0x1800, data); // 0x1800..0x37ff: three guest pages

        Assert.Equal(DmaResult.Ok(0x2000, false), r);
        Assert.Equal(data, s.HostBytes(HostRamBase + 0x10_0800, 0x2000));
        var back = new byte[0x2000];
        Assert.True(s.Device.Read(0x1800, back).IsOk);
        Assert.Equal(data, back);
    }

    [Fact]
    public void An_access_is_split_where_the_guest_translation_changes()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        s.GuestMap(0x2000, 0x1000, 0x30_0000);
        byte[] data = Pattern(32);

        Assert.True(s.Device.Write(0x1ff0, data).IsOk);

        Assert.Equal(data[..16], s.HostBytes(HostRamBase + 0x10_0ff0, 16));
        Assert.Equal(data[16..], s.HostBytes(HostRamBase + 0x30_0000, 16));
    }

    [Fact]
    public void A_guest_fault_on_a_later_page_transfers_nothing()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);

        DmaResult r = s.Device.Write(0x1800, Pattern(0x1000)); // the second half falls on unmapped 0x2000

        Assert.Equal(DmaStage.Guest, r.Stage);
        Assert.Equal(DmaFaultReason.NotPresent, r.Fault.Reason);
        Assert.Equal(0x2000UL, r.Fault.Iova);
        Assert.Equal(0UL, r.Length);
        Assert.All(s.HostBytes(HostRamBase + 0x10_0000, 0x1000), b => Assert.Equal(0, b));
        Assert.Equal(1, s.Guest.Unit.Faults.Count);
        Assert.Equal(0, s.HostDomain.Faults.Count);
    }

    [Fact]
    public void A_host_fault_is_stage_host_and_logged_by_the_host_domain()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x4000_0000); // GPA 1 GiB: not mapped by the host domain

        DmaResult r = s.Device.Read(0x1000, new byte[8]);

        Assert.Equal(DmaStage.Host, r.Stage);
        Assert.Equal(DmaFaultReason.NotPresent, r.Fault.Reason);
        Assert.Equal(0x4000_0000UL, r.Fault.Iova);
        Assert.Equal(1, s.HostDomain.Faults.Count);
        Assert.Equal(0x18, r.Fault.DeviceId);
    }

    [Fact]
    public void Guest_permissions_give_read_only_and_write_only_faults()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000, Permissions.Read);
        s.GuestMap(0x2000, 0x1000, 0x10_1000, Permissions.Write);

        Assert.Equal(DmaFaultReason.WriteToReadOnly, s.Device.Write(0x1000, new byte[4]).Fault.Reason);
        Assert.Equal(DmaFaultReason.ReadOfWriteOnly, s.Device.Read(0x2000, new byte[4]).Fault.Reason);
        Assert.Equal("read-only", DmaFault.FormatReason(DmaFaultReason.WriteToReadOnly));
    }

    [Fact]
    public void An_iova_beyond_the_guest_width_is_out_of_range()
    {
        var s = new Setup();
        DmaResult r = s.Device.Read(1UL << 39, new byte[1]);
        Assert.Equal(DmaStage.Guest, r.Stage);
        Assert.Equal(DmaFaultReason.BeyondWidth, r.Fault.Reason);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.Device.Read(ulong.MaxValue, new byte[2]));
    }

    [Fact]
    public void Guest_unmap_without_invalidation_is_reported_stale_naming_the_unmap()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        Assert.True(s.Device.Write(0x1000, Pattern(8)).IsOk); // fills the guest IOTLB

        s.Guest.Driver.Unmap(s.Guest.Domain, IovaRange.FromStartSize(0x1000, 0x1000), invalidate: false);
        DmaResult r = s.Device.Write(0x1000, Pattern(8, 2));

        Assert.True(r.IsOk);
        Assert.True(r.IsStale);
        Assert.Equal(1, s.Device.StaleAccesses);
        StaleDmaAccess report = Assert.Single(s.Device.StaleReports);
        Assert.Equal(DmaStage.Guest, report.Stage);
        Assert.Equal("guest unmap #1 [0x1000, 0x1fff] in domain 1 (not invalidated)", report.Cause);
        Assert.Equal(1, s.Guest.Unit.StaleHits);

        // Once the guest invalidates, the stale entry is gone and the access faults.
        s.Guest.Driver.InvalidatePage(s.Guest.Domain.DomainId, 0x1000, 0x1000);
        Assert.Equal(DmaFaultReason.NotPresent, s.Device.Write(0x1000, Pattern(8)).Fault.Reason);
    }

    [Fact]
    public void Guest_unmap_with_invalidation_faults_at_once()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        Assert.True(s.Device.Read(0x1000, new byte[8]).IsOk);
        s.Guest.Driver.Unmap(s.Guest.Domain, IovaRange.FromStartSize(0x1000, 0x1000));
        DmaResult r = s.Device.Read(0x1000, new byte[8]);
        Assert.Equal(DmaStage.Guest, r.Stage);
        Assert.Equal(0, s.Device.StaleAccesses);
    }

    [Fact]
    public void Host_unmap_without_flush_is_reported_stale_at_stage_host()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        Assert.True(s.Device.Read(0x1000, new byte[8]).IsOk);
        s.HostDomain.Unmap(IovaRange.FromStartSize(0x10_0000, 0x1000)); // no IOTLB flush: the 1 GiB leaf is split

        DmaResult r = s.Device.Read(0x1000, new byte[8]);

        Assert.True(r.IsStale);
        Assert.Equal(DmaStage.Host, Assert.Single(s.Device.StaleReports).Stage);
    }

    [Fact]
    public void Guest_iotlb_misses_once_then_hits()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        s.Device.Read(0x1000, new byte[8]);
        s.Device.Read(0x1008, new byte[8]);
        IotlbStats stats = s.Guest.Unit.IotlbStats;
        Assert.Equal(1, stats.Misses);
        Assert.Equal(1, stats.Walks);
        Assert.Equal(1, stats.Hits);
    }

    [Fact]
    public void Writes_are_reported_to_the_dirty_tracker_in_host_iovas()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        s.GuestMap(0x2000, 0x1000, 0x30_0000);
        var dirty = new RecordingDirty();
        s.Device.DirtyTracker = dirty;

        s.Device.Write(0x1ff0, new byte[32]);
        s.Device.Read(0x1000, new byte[8]);

        Assert.Equal([(0x10_0ff0UL, 16UL), (0x30_0000UL, 16UL)], dirty.Marked);
    }

    [Fact]
    public void A_device_behind_none_uses_the_address_as_the_host_iova()
    {
        var hostMemory = new PhysicalMemory();
        hostMemory.AddBacking(IovaRange.FromStartSize(HostRamBase, 0x10_0000));
        var domain = new IommuDomain(new FrameAllocator(hostMemory));
        domain.Map(IovaRange.FromStartSize(0x8000_0000, 0x10_0000), HostRamBase, Permissions.ReadWrite);
        var device = new DmaDevice("disk0", new IommuDomainDmaPath(domain, hostMemory), sourceId: 7);

        Assert.True(device.Write(0x8000_0ffe, [1, 2, 3, 4]).IsOk);
        Assert.Equal(DmaStage.Host, device.Write(0x7fff_fffe, [1, 2, 3, 4]).Stage); // starts 2 bytes below the map
        var b = new byte[4];
        hostMemory.Read(HostRamBase + 0xffe, b);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, b);
    }

    [Fact]
    public void Shadow_mode_translates_the_guest_iova_in_the_host_domain()
    {
        var s = new Setup(source: HostIovaSource.GuestIova);
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        s.HostDomain.Map(IovaRange.FromStartSize(0x1000, 0x1000), HostRamBase + 0x10_0000, Permissions.ReadWrite); // the listener's shadow
        byte[] data = Pattern(16);
        Assert.True(s.Device.Write(0x1000, data).IsOk);
        Assert.Equal(data, s.HostBytes(HostRamBase + 0x10_0000, 16));
    }

    [Fact]
    public void A_warm_4k_dma_through_both_stages_allocates_nothing()
    {
        var s = new Setup();
        s.GuestMap(0x1000, 0x1000, 0x10_0000);
        byte[] data = Pattern(0x1000);
        s.Device.Write(0x1000, data);
        s.Device.Write(0x1000, data); // the thread's first IOTLB hits create its hit counters, once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            s.Device.Write(0x1000, data);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private sealed class RecordingDirty : IDmaDirtyTracker
    {
        public List<(ulong, ulong)> Marked { get; } = [];

        public void MarkDirty(ulong iova, ulong length) => Marked.Add((iova, length));
    }
}
