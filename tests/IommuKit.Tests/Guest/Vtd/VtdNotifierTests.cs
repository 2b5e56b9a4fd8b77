using IommuKit.Guest;
using IommuKit.Guest.Vtd;
using IommuKit.Linux;
using IommuKit.MemoryMap;
using IommuKit.PageTables;
using static IommuKit.Tests.Guest.Vtd.VtdFixture;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>intel_iommu notifiers, caching mode, replay, sync and invalidations (reference §3.4, §3.5).</summary>
public class VtdNotifierTests
{
    private const ulong Gpa = 0x10_0000; // 1 MiB into guest RAM

    [Fact]
    public void Without_caching_mode_a_map_notifier_is_refused_naming_the_device()
    {
        var f = new VtdFixture(cachingMode: false);
        var n = new RecordingNotifier(IommuNotifierFlags.IotlbEvents);
        IommuRegistrationResult r = f.Device.RegisterNotifier(n.Notifier);

        Assert.Equal(Errno.EOPNOTSUPP, r.Error);
        Assert.Equal("device 00.03.0 requires caching mode", r.Message);
        Assert.Empty(f.Device.Notifiers.Notifiers);
        Assert.True(f.Device.RegisterNotifier(new RecordingNotifier(IommuNotifierFlags.Unmap).Notifier).IsOk);
    }

    [Fact]
    public void Without_caching_mode_the_driver_does_not_invalidate_new_mappings_so_no_event_reaches_unmap_notifiers()
    {
        var f = new VtdFixture(cachingMode: false);
        RecordingNotifier n = f.Register(IommuNotifierFlags.Unmap);
        int before = f.Unit.ProcessedDescriptors.Count;
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        Assert.Equal(before, f.Unit.ProcessedDescriptors.Count);
        Assert.Empty(n.Events);

        // Removing it is invalidated: a PSI without a MAP notifier sends one UNMAP of the range, no walk.
        f.Unit.ResetCounters();
        f.Driver.Unmap(f.Domain, R(0x1000, 0x1000));
        Assert.Equal(["UNMAP {0x1000, mask 0xfff} -> 0x0 none"], n.Lines);
        Assert.Equal(0, f.Unit.PteReads);
    }

    [Fact]
    public void With_caching_mode_a_new_mapping_is_invalidated_and_trapped_as_map()
    {
        var f = new VtdFixture(cachingMode: true);
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.Read);
        Assert.Equal(["MAP {0x1000, mask 0xfff} -> 0x100000 r"], n.Lines);
        Assert.Equal("iotlb-page did 1 addr 0x1000 am 0", f.Unit.ProcessedDescriptors[^1].ToString());
    }

    [Fact]
    public void Replay_of_one_4k_mapping_in_a_3_level_table_reads_3_x_512_ptes_and_sends_one_map()
    {
        var f = new VtdFixture();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        RecordingNotifier n = f.Register();
        f.Unit.ResetCounters();

        f.Device.Replay(n.Notifier);

        Assert.Equal(
            ["UNMAP {0x0, mask 0x7fffffffff} -> 0x0 none", "MAP {0x1000, mask 0xfff} -> 0x100000 rw"],
            n.Lines);
        Assert.Equal(3 * 512, f.Unit.PteReads);
    }

    [Fact]
    public void Replay_of_one_4k_mapping_in_an_empty_48_bit_table_reads_one_table_per_level()
    {
        var f = new VtdFixture(addressWidth: 48);
        f.Driver.Map(f.Domain, R(0x7654_3210_0000, 0x1000), Gpa, Permissions.ReadWrite);
        RecordingNotifier n = f.Register();
        f.Unit.ResetCounters();

        f.Device.Replay(n.Notifier);

        Assert.Equal(
            ["UNMAP {0x0, mask 0xffffffffffff} -> 0x0 none", "MAP {0x765432100000, mask 0xfff} -> 0x100000 rw"],
            n.Lines);
        Assert.Equal(4 * 512, f.Unit.PteReads); // 2048, not 2^36 translate calls
    }

    [Fact]
    public void Replay_pte_reads_grow_with_the_number_of_tables_not_the_space()
    {
        var f = new VtdFixture(addressWidth: 48);
        for (ulong i = 0; i < 64; i++)
        {
            // 64 mappings, each in its own level-1 table, in 64 different 512 GiB slots.
            f.Driver.Map(f.Domain, R((i << 39) | 0x1000, 0x1000), Gpa + (i << 12), Permissions.ReadWrite);
        }

        RecordingNotifier n = f.Register();
        f.Unit.ResetCounters();
        f.Device.Replay(n.Notifier);
        Assert.Equal(1 + 64, n.Events.Count);
        Assert.Equal(512 + (64 * 3 * 512), f.Unit.PteReads); // root + 64 × (L3, L2, L1)
    }

    [Fact]
    public void Replay_delivers_maps_to_the_replayed_notifier_only_cropped_per_section()
    {
        var f = new VtdFixture();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        f.Driver.Map(f.Domain, R(0x1_0000_0000, 0x20_0000), 0x20_0000, Permissions.ReadWrite); // a 2 MiB leaf above 4 GiB
        RecordingNotifier low = f.Register(start: 0, end: 0xfedf_ffff);
        RecordingNotifier high = f.Register(start: 0xfef0_0000, end: ulong.MaxValue);

        f.Device.Replay(high.Notifier);

        Assert.Empty(low.Events);
        Assert.Equal(9 + 1, high.Events.Count);
        Assert.Equal("UNMAP {0xfef00000, mask 0xfffff} -> 0x0 none", high.Lines[0]);
        Assert.Equal("MAP {0x100000000, mask 0x1fffff} -> 0x200000 rw", high.Lines[^1]);

        f.Device.Replay(low.Notifier);
        Assert.Equal(10 + 1, low.Events.Count); // 10 UNMAP chunks of [0, 0xfedfffff], then the 4K MAP
        Assert.Equal("MAP {0x1000, mask 0xfff} -> 0x100000 rw", low.Lines[^1]);
    }

    [Fact]
    public void Sync_skips_a_map_identical_to_what_was_sent()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        n.Clear();
        f.Driver.InvalidateGlobal();
        f.Driver.InvalidateDomain(f.Domain.DomainId);
        Assert.Empty(n.Events);
    }

    [Fact]
    public void A_changed_live_pte_gives_unmap_then_map()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        n.Clear();

        // The guest rewrites the leaf in place (raw write to guest RAM) to point at another page, read-only.
        PageTableLeaf leaf = Assert.Single(f.Domain.Table.Leaves(R(0x1000, 0x1000)));
        ulong l1 = FindLevel1Table(f, 0x1000);
        f.GuestRam.WriteUInt64(l1 + (1 * 8), X86SecondLevelPte.Leaf(Gpa + 0x5000, Permissions.Read, huge: false).Raw);
        Assert.Equal(Gpa, leaf.Pa);
        Assert.Equal(Errno.Ok, f.Driver.InvalidatePage(f.Domain.DomainId, 0x1000, 0x1000));

        Assert.Equal(["UNMAP {0x1000, mask 0xfff} -> 0x0 none", "MAP {0x1000, mask 0xfff} -> 0x105000 r"], n.Lines);
    }

    [Fact]
    public void An_unmap_of_what_was_never_sent_is_skipped()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        Assert.Equal(Errno.Ok, f.Driver.InvalidatePage(f.Domain.DomainId, 0x4000_0000, 0x20_0000));
        f.Driver.InvalidateGlobal();
        Assert.Empty(n.Events);
    }

    [Fact]
    public void A_psi_covering_a_whole_cleared_pde_still_sends_the_unmap_36d2d52bdb()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite); // keeps the level-2 table alive
        for (ulong i = 0; i < 512; i++)
        {
            f.Driver.Map(f.Domain, R(0x20_0000 + (i << 12), 0x1000), Gpa + (i << 12), Permissions.ReadWrite);
        }

        Assert.Equal(513, n.Events.Count);
        n.Clear();

        // Unmapping the whole 2 MiB frees the level-1 table and clears the PDE; the PSI (AM 9) walks it as one
        // non-present level-2 entry and must still tell the notifier.
        f.Driver.Unmap(f.Domain, R(0x20_0000, 0x20_0000));
        Assert.Equal(["UNMAP {0x200000, mask 0x1fffff} -> 0x0 none"], n.Lines);
        Assert.Equal(1, f.Device.IovaTree.Count);
    }

    [Fact]
    public void Page_selective_address_mask_above_18_is_rejected()
    {
        var f = new VtdFixture();
        Assert.Equal(Errno.EINVAL, f.Driver.InvalidatePage(1, 0, 2UL << 30));           // 2 GiB: AM 19
        Assert.Equal(Errno.EINVAL, f.Driver.InvalidatePage(1, 0, 0x3000));              // not a power of two
        Assert.Equal(Errno.EINVAL, f.Driver.InvalidatePage(1, 0x1000, 0x2000));         // not naturally aligned
        Assert.Equal(Errno.EINVAL, f.Driver.InvalidatePage(1, 0, 0x800));               // below 4 KiB
        Assert.Equal(Errno.Ok, f.Driver.InvalidatePage(1, 0x4000_0000, 1UL << 30));     // AM 18: 1 GiB

        VtdInvalidationResult raw = f.Driver.Submit(VtdInvalidationDescriptor.IotlbPage(1, 0, 19));
        Assert.True(raw.Error);
        Assert.Contains("address mask 19 above MAMV 18", raw.Message);
        Assert.True(f.Unit.QueueError);
        int head = f.Unit.QueueHead;
        Assert.True(f.Driver.Submit(VtdInvalidationDescriptor.IotlbGlobal()).Error); // the queue stays stopped
        Assert.Equal(head, f.Unit.QueueHead);
    }

    [Fact]
    public void Domain_selective_invalidation_syncs_only_devices_of_that_domain()
    {
        var f = new VtdFixture();
        GuestDomain other = f.Driver.CreateDomain();
        VtdDeviceSpace dev2 = f.Unit.GetDevice(0, 4 << 3);
        f.Driver.AttachDevice(other, 0, 4 << 3);
        RecordingNotifier n1 = f.Register();
        var n2 = new RecordingNotifier(IommuNotifierFlags.IotlbEvents);
        Assert.True(dev2.RegisterNotifier(n2.Notifier).IsOk);

        // Write both tables without caching-mode flushes (raw table edits), then one DSI of domain 2.
        f.Domain.Table.Map(R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        other.Table.Map(R(0x2000, 0x1000), Gpa, Permissions.ReadWrite);
        f.Driver.InvalidateDomain(other.DomainId);

        Assert.Empty(n1.Events);
        Assert.Equal(["MAP {0x2000, mask 0xfff} -> 0x100000 rw"], n2.Lines);
    }

    [Fact]
    public void Context_global_invalidation_unmaps_every_notifier_then_replays()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        n.Clear();
        f.Driver.Submit(VtdInvalidationDescriptor.ContextGlobal());
        Assert.Equal(["UNMAP {0x0, mask 0x7fffffffff} -> 0x0 none", "MAP {0x1000, mask 0xfff} -> 0x100000 rw"], n.Lines);
    }

    [Fact]
    public void Sync_with_the_context_entry_gone_unmaps_everything()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);
        n.Clear();
        f.Driver.DetachDevice(VtdFixture.Bus, VtdFixture.DevFn);
        Assert.Equal("UNMAP {0x0, mask 0x7fffffffff} -> 0x0 none", n.Lines[0]);
        Assert.Equal(0, f.Device.IovaTree.Count);
    }

    [Fact]
    public void Huge_guest_leaves_are_one_event_each_2m_and_1g()
    {
        var f = new VtdFixture();
        RecordingNotifier n = f.Register();
        f.Driver.Map(f.Domain, R(0x4000_0000, 1UL << 30), 0, Permissions.ReadWrite);      // 1 GiB leaf at 1 GiB
        f.Driver.Map(f.Domain, R(0x8000_0000, 0x20_0000), 0x20_0000, Permissions.Read);   // 2 MiB leaf at 2 GiB
        Assert.Equal(
            ["MAP {0x40000000, mask 0x3fffffff} -> 0x0 rw", "MAP {0x80000000, mask 0x1fffff} -> 0x200000 r"],
            n.Lines);
        Assert.Equal(0x4000_0000UL, f.Device.Translate(0x7fff_ffff, Permissions.None, 0).Iova);
        Assert.Equal(0x3fff_ffffUL, f.Device.Translate(0x7fff_ffff, Permissions.None, 0).AddrMask);
    }

    [Fact]
    public void Permissions_stack_down_the_walk()
    {
        var f = new VtdFixture();
        f.Driver.Map(f.Domain, R(0x1000, 0x1000), Gpa, Permissions.ReadWrite);

        // Clear W in the root entry: everything below becomes read-only.
        ulong root = f.Domain.Table.RootPa;
        ulong rootEntry = f.GuestRam.ReadUInt64(root);
        f.GuestRam.WriteUInt64(root, rootEntry & ~X86SecondLevelPte.WriteBit);
        RecordingNotifier n = f.Register();
        f.Device.Replay(n.Notifier);
        Assert.Equal("MAP {0x1000, mask 0xfff} -> 0x100000 r", n.Lines[^1]);
    }

    [Fact]
    public void A_walk_starting_beyond_the_width_is_refused_and_the_end_is_clamped()
    {
        var f = new VtdFixture();
        f.Device.LookupContext(out VtdContextEntry ce);
        Assert.False(f.Device.PageWalk(ce, 1UL << 39, ulong.MaxValue, notifyUnmap: true, only: null));
        Assert.True(f.Device.PageWalk(ce, (1UL << 39) - 0x1000, ulong.MaxValue, notifyUnmap: true, only: null));
    }

    [Fact]
    public void Device_iotlb_invalidation_feeds_deviotlb_notifiers()
    {
        var f = new VtdFixture();
        var refused = new RecordingNotifier(IommuNotifierFlags.DevIotlbUnmap);
        Assert.Equal("device 00.03.0 requires device IOTLB mode", f.Device.RegisterNotifier(refused.Notifier).Message);
    }

    private static ulong FindLevel1Table(VtdFixture f, ulong iova)
    {
        ulong table = f.Domain.Table.RootPa;
        for (int level = f.Domain.Table.Levels; level > 1; level--)
        {
            ulong pte = f.GuestRam.ReadUInt64(table + ((ulong)PageTableLayout.EntryIndex(iova, level) * 8));
            table = pte & X86SecondLevelPte.AddressMask;
        }

        return table;
    }
}
