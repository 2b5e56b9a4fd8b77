using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using static IommuKit.Tests.Guest.Vtd.VtdFixture;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>
/// Rules of reference §3 that had no test of their own before the issue 5 audit (docs/vtd-rules.md maps every rule
/// of §3 to its test).
/// </summary>
public class VtdRuleAuditTests
{
    private const ulong Gpa = 0x10_0000; // 1 MiB into guest RAM

    // §3.1: IOMMUAccessFlags NONE 0, RO 1, WO 2, RW 3; IOMMUNotifierFlag UNMAP 0x1, MAP 0x2, DEVIOTLB_UNMAP 0x4,
    // IOMMU_NOTIFIER_IOTLB_EVENTS = MAP | UNMAP.
    [Fact]
    public void Access_and_notifier_flag_values_are_qemus()
    {
        Assert.Equal([0, 1, 2, 3], new[] { Permissions.None, Permissions.Read, Permissions.Write, Permissions.ReadWrite }.Select(p => (int)p));
        Assert.Equal(
            [0, 0x1, 0x2, 0x4, 0x3],
            new[] { IommuNotifierFlags.None, IommuNotifierFlags.Unmap, IommuNotifierFlags.Map, IommuNotifierFlags.DevIotlbUnmap, IommuNotifierFlags.IotlbEvents }
                .Select(f => (int)f));
    }

    // §3.2: memory_region_notify_iommu calls notify_iommu_one only for notifiers with the event's iommu_idx.
    [Fact]
    public void Notify_reaches_only_notifiers_of_the_same_iommu_index()
    {
        var list = new IommuNotifierList(indexCount: 2);
        var seen0 = new List<IommuTlbEvent>();
        var seen1 = new List<IommuTlbEvent>();
        Assert.True(list.Register(new IommuNotifier(IommuNotifierFlags.Map, 0, ulong.MaxValue, (_, e) => seen0.Add(e), iommuIndex: 0)).IsOk);
        Assert.True(list.Register(new IommuNotifier(IommuNotifierFlags.Map, 0, ulong.MaxValue, (_, e) => seen1.Add(e), iommuIndex: 1)).IsOk);

        list.Notify(new IommuTlbEvent(IommuNotifierFlags.Map, new IommuTlbEntry(0x1000, 0x8000, 0xfff, Permissions.ReadWrite)), iommuIndex: 1);

        Assert.Empty(seen0);
        Assert.Equal(0x1000UL, Assert.Single(seen1).Entry.Iova);
    }

    // §3.4 (vtd_page_walk_one): an UNMAP of an entry that was sent removes it from the IOVA tree and is sent.
    [Fact]
    public void An_unmap_of_a_sent_entry_removes_it_from_the_iova_tree_and_is_sent()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        f.Driver.Map(f.Domain, R(0x2000, 0x1000), Gpa, Permissions.ReadWrite); // keeps the level-1 table alive
        Assert.Equal(2, f.Device.IovaTree.Count);
        n.Clear();

        f.Driver.Unmap(f.Domain, R(0x1000, 0x1000));

        Assert.Equal(["UNMAP {0x1000, mask 0xfff} -> 0x0 none"], n.Lines);
        Assert.Equal(0x2000UL, Assert.Single(f.Device.IovaTree).Range.First);
    }

    // §3.5: vtd_address_space_unmap removes the notifier's range from the IOVA tree as an inclusive range (the 2023
    // off-by-one passed a length where an inclusive size was expected and also dropped the entry at end + 1).
    [Fact]
    public void Address_space_unmap_forgets_exactly_the_inclusive_range_in_the_iova_tree()
    {
        var f = new VtdFixture();
        f.Register();
        f.Driver.Map(f.Domain, R(0xfedf_f000, 0x1000), Gpa, Permissions.ReadWrite);  // the last page of section 1
        f.Driver.Map(f.Domain, R(0xfee0_0000, 0x1000), Gpa, Permissions.ReadWrite);  // end + 1 of section 1
        Assert.Equal(2, f.Device.IovaTree.Count);

        var low = new RecordingNotifier(IommuNotifierFlags.IotlbEvents, 0, 0xfedf_ffff);
        f.Device.AddressSpaceUnmap(low.Notifier);

        Assert.Equal(10, low.Events.Count); // §3.5 chunking of [0, 0xfedfffff]
        Assert.Equal(0xfee0_0000UL, Assert.Single(f.Device.IovaTree).Range.First);
    }

    // §3.5: an IOTLB global invalidation resets the IOTLB and syncs every address space.
    [Fact]
    public void Iotlb_global_invalidation_syncs_every_device()
    {
        var f = new VtdFixture();
        GuestDomain other = f.Driver.CreateDomain();
        VtdDeviceSpace dev2 = f.Unit.GetDevice(0, 4 << 3);
        f.Driver.AttachDevice(other, 0, 4 << 3);
        RecordingNotifier n1 = f.Register();
        var n2 = new RecordingNotifier(IommuNotifierFlags.IotlbEvents);
        Assert.True(dev2.RegisterNotifier(n2.Notifier).IsOk);
        n1.Clear();
        n2.Clear();

        // Raw table edits (no invalidation), then one global IOTLB invalidation.
        f.Domain.Table.Map(R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        other.Table.Map(R(0x2000, 0x1000), Gpa, Permissions.Read);
        Assert.False(f.Driver.InvalidateGlobal().Error);

        Assert.Equal(["MAP {0x1000, mask 0xfff} -> 0x100000 rw"], n1.Lines);
        Assert.Equal(["MAP {0x2000, mask 0xfff} -> 0x100000 r"], n2.Lines);
    }

    // §3.5: a context-cache device-selective invalidation reaches the source id with FM masking the high function bits
    // (VT-d spec: FM 01 masks SID bit 2, 10 bits 2:1, 11 bits 2:0; QEMU vtd_context_device_invalidate masks 4, 6, 7).
    [Theory]
    [InlineData(0, new[] { 0 })]                     // 00:03.0 only
    [InlineData(1, new[] { 0, 4 })]                  // functions 0 and 4 (bit 2 masked)
    [InlineData(2, new[] { 0, 2, 4, 6 })]            // bits 2:1 masked
    [InlineData(3, new[] { 0, 1, 2, 3, 4, 5, 6, 7 })] // every function of slot 3
    public void Context_device_invalidation_masks_the_high_function_bits(int functionMask, int[] functions)
    {
        var f = new VtdFixture(attach: false);
        var recorders = new RecordingNotifier[8];
        for (int fn = 0; fn < 8; fn++)
        {
            f.Driver.AttachDevice(f.Domain, Bus, (3 << 3) | fn);
            recorders[fn] = new RecordingNotifier(IommuNotifierFlags.IotlbEvents);
            Assert.True(f.Unit.GetDevice(Bus, (3 << 3) | fn).RegisterNotifier(recorders[fn].Notifier).IsOk);
        }

        f.Domain.Table.Map(R(0x1000, 0x1000), Gpa, Permissions.ReadWrite); // raw edit: nobody told yet
        Assert.False(f.Driver.Submit(VtdInvalidationDescriptor.ContextDevice(f.Domain.DomainId, (Bus << 8) | (3 << 3), functionMask)).Error);

        int[] synced = Enumerable.Range(0, 8).Where(fn => recorders[fn].Lines.Contains("MAP {0x1000, mask 0xfff} -> 0x100000 rw")).ToArray();
        Assert.Equal(functions, synced);
    }

    // §3.5: register-based (CCMD / IOTLB registers) and queued invalidations share one handler: the same descriptor
    // gives the same refusal and the same events on both paths.
    [Fact]
    public void Register_and_queued_invalidation_share_one_handler()
    {
        var f = new VtdFixture();
        Assert.Contains("address mask 19 above MAMV 18", f.Unit.Process(VtdInvalidationDescriptor.IotlbPage(1, 0, 19)));
        Assert.False(f.Unit.QueueError); // the register path refuses without stopping the queue

        RecordingNotifier n = f.Register();
        f.Domain.Table.Map(R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        Assert.Null(f.Unit.Process(VtdInvalidationDescriptor.IotlbPage(f.Domain.DomainId, 0x1000, 0)));
        string[] viaRegister = [.. n.Lines];
        f.Domain.Table.Unmap(R(0x1000, 0x1000));
        f.Unit.Process(VtdInvalidationDescriptor.IotlbPage(f.Domain.DomainId, 0x1000, 0));
        n.Clear();

        f.Domain.Table.Map(R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        Assert.False(f.Driver.Submit(VtdInvalidationDescriptor.IotlbPage(f.Domain.DomainId, 0x1000, 0)).Error);
        Assert.Equal(viaRegister, n.Lines);
    }
}
