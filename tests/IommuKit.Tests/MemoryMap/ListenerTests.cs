using IommuKit.MemoryMap;
using Map = IommuKit.MemoryMap.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>Transactions and listener notification (reference notes 1.5 and 1.6).</summary>
public class ListenerTests
{
    /// <summary>root holds low RAM [0, 0x3fff] (prio 0) and an MMIO hole [0x1000, 0x1fff] (prio 1).</summary>
    private static (Map Map, AddressSpace Space, MemoryRegion Low, MemoryRegion Hole) LowWithHole()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion low = map.CreateRam("low", 0x4000UL);
        MemoryRegion hole = map.CreateReservation("hole", 0x1000UL);
        root.AddSubregion(0x0, low);
        root.AddSubregionOverlap(0x1000, hole, 1);
        return (map, map.CreateAddressSpace("memory", root), low, hole);
    }

    [Fact]
    public void Registration_replays_the_current_view_to_the_new_listener_alone()
    {
        var (_, space, _, _) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("old", log));
        log.Clear();

        space.RegisterListener(new RecordingListener("new", log));

        Assert.Equal(
        [
            "new begin",
            "new add low [0x0, 0xfff] @0x0",
            "new add hole [0x1000, 0x1fff] @0x0",
            "new add low [0x2000, 0x3fff] @0x2000",
            "new commit",
        ], log);
    }

    [Fact]
    public void Unregistration_tears_the_view_down_for_that_listener_alone_ascending()
    {
        var (_, space, _, _) = LowWithHole();
        var log = new List<string>();
        var stay = new RecordingListener("stay", log);
        var leave = new RecordingListener("leave", log);
        space.RegisterListener(stay);
        space.RegisterListener(leave);
        log.Clear();

        space.UnregisterListener(leave);

        Assert.Equal(
        [
            "leave begin",
            "leave del low [0x0, 0xfff] @0x0",
            "leave del hole [0x1000, 0x1fff] @0x0",
            "leave del low [0x2000, 0x3fff] @0x2000",
            "leave commit",
        ], log);
        Assert.Equal([stay], space.Listeners);
        Assert.Throws<ArgumentException>(() => space.UnregisterListener(leave));
    }

    [Fact]
    public void Disable_gives_every_delete_before_any_add_each_pass_ascending()
    {
        var (_, space, _, hole) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        hole.SetEnabled(false);

        Assert.Equal(
        [
            "l begin",
            "l del low [0x0, 0xfff] @0x0",
            "l del hole [0x1000, 0x1fff] @0x0",
            "l del low [0x2000, 0x3fff] @0x2000",
            "l add low [0x0, 0x3fff] @0x0",
            "l commit",
        ], log);

        log.Clear();
        hole.SetEnabled(true);
        Assert.Equal(
        [
            "l begin",
            "l del low [0x0, 0x3fff] @0x0",
            "l add low [0x0, 0xfff] @0x0",
            "l add hole [0x1000, 0x1fff] @0x0",
            "l add low [0x2000, 0x3fff] @0x2000",
            "l commit",
        ], log);
    }

    [Fact]
    public void Every_committed_update_gives_region_nop_for_each_unchanged_range()
    {
        var (map, space, _, _) = LowWithHole();
        MemoryRegion extra = map.CreateRam("extra", 0x1000UL);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        space.Root.AddSubregion(0x10000, extra);

        Assert.Equal(
        [
            "l begin",
            "l nop low [0x0, 0xfff] @0x0",
            "l nop hole [0x1000, 0x1fff] @0x0",
            "l nop low [0x2000, 0x3fff] @0x2000",
            "l add extra [0x10000, 0x10fff] @0x0",
            "l commit",
        ], log);
    }

    [Fact]
    public void Readonly_change_is_a_delete_and_an_add_of_the_same_addresses()
    {
        // flatrange_equal compares readonly: a flag change is not a nop.
        var (_, space, low, _) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        low.SetReadOnly(true);

        Assert.Equal(
        [
            "l begin",
            "l del low [0x0, 0xfff] @0x0",
            "l del low [0x2000, 0x3fff] @0x2000",
            "l add low [0x0, 0xfff] @0x0 ro",
            "l nop hole [0x1000, 0x1fff] @0x0",
            "l add low [0x2000, 0x3fff] @0x2000 ro",
            "l commit",
        ], log);
    }

    [Fact]
    public void Romd_mode_change_is_a_delete_and_an_add()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion flash = map.CreateRomDevice("flash", 0x1000UL);
        root.AddSubregion(0x0, flash);
        AddressSpace space = map.CreateAddressSpace("memory", root);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        flash.SetRomdMode(false);

        Assert.Equal(["l begin", "l del flash [0x0, 0xfff] @0x0", "l add flash [0x0, 0xfff] @0x0", "l commit"], log);
        Assert.False(space.FlatView.Ranges[0].RomdMode);
        Assert.False(flash.IsRomd);
    }

    [Fact]
    public void Nested_transactions_give_one_begin_commit_and_one_diff()
    {
        var (map, space, low, hole) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();
        int updates = map.UpdateCount;

        map.BeginTransaction();
        hole.SetEnabled(false);
        using (map.Transaction())
        {
            low.SetSize(0x2000UL);
            Assert.Equal(2, map.TransactionDepth);
        }

        Assert.Empty(log);
        Assert.Equal(1, map.TransactionDepth);
        Assert.True(map.UpdatePending);
        map.CommitTransaction();

        Assert.Equal(
        [
            "l begin",
            "l del low [0x0, 0xfff] @0x0",
            "l del hole [0x1000, 0x1fff] @0x0",
            "l del low [0x2000, 0x3fff] @0x2000",
            "l add low [0x0, 0x1fff] @0x0",
            "l commit",
        ], log);
        Assert.Equal(updates + 1, map.UpdateCount);
        Assert.Equal(0, map.TransactionDepth);
    }

    [Fact]
    public void Transaction_scope_commits_once_even_if_disposed_twice()
    {
        var (map, _, _, hole) = LowWithHole();
        MemoryTransaction scope = map.Transaction();
        hole.SetEnabled(false);
        scope.Dispose();
        scope.Dispose();
        Assert.Equal(0, map.TransactionDepth);
    }

    [Fact]
    public void Commit_without_begin_is_a_caller_mistake()
    {
        var map = new Map();
        var e = Assert.Throws<InvalidOperationException>(map.CommitTransaction);
        Assert.Contains("no memory transaction is open", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unchanged_set_address_set_size_set_enabled_give_no_callbacks()
    {
        // memory_region_set_address / set_size / set_enabled return early when nothing changes.
        var (map, space, low, hole) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();
        int updates = map.UpdateCount;

        hole.SetAddress(0x1000);
        low.SetSize(0x4000UL);
        low.SetSize((UInt128)0x4000);
        hole.SetEnabled(true);
        low.SetReadOnly(false);
        low.SetNonVolatile(false);
        hole.SetPriority(1);

        Assert.Empty(log);
        Assert.Equal(updates, map.UpdateCount);
        Assert.False(map.UpdatePending);
    }

    [Fact]
    public void Set_address_of_a_region_without_container_only_sets_the_field()
    {
        var map = new Map();
        var log = new List<string>();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        map.CreateAddressSpace("memory", root).RegisterListener(new RecordingListener("l", log));
        log.Clear();
        MemoryRegion loose = map.CreateRam("loose", 0x1000UL);

        loose.SetAddress(0x5000);

        Assert.Equal(0x5000UL, loose.Address);
        Assert.Empty(log);
    }

    [Fact]
    public void Removing_a_disabled_subregion_marks_no_update()
    {
        var (map, space, _, hole) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        hole.SetEnabled(false);
        log.Clear();

        space.Root.RemoveSubregion(hole);

        Assert.Empty(log);
        Assert.Null(hole.Container);
        Assert.DoesNotContain(hole, space.Root.Subregions);
        Assert.False(map.UpdatePending);
    }

    [Fact]
    public void Listener_priority_adds_forward_deletes_reverse_begin_commit_forward()
    {
        // "Lower priorities are invoked earlier for add or start callbacks, and later for delete or stop callbacks."
        var (_, space, _, hole) = LowWithHole();
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("p10", log, priority: 10)); // registered first
        space.RegisterListener(new RecordingListener("p0", log, priority: 0));
        log.Clear();

        space.Root.RemoveSubregion(hole);

        Assert.Equal(
        [
            "p0 begin",
            "p10 begin",
            "p10 del low [0x0, 0xfff] @0x0",
            "p0 del low [0x0, 0xfff] @0x0",
            "p10 del hole [0x1000, 0x1fff] @0x0",
            "p0 del hole [0x1000, 0x1fff] @0x0",
            "p10 del low [0x2000, 0x3fff] @0x2000",
            "p0 del low [0x2000, 0x3fff] @0x2000",
            "p0 add low [0x0, 0x3fff] @0x0",
            "p10 add low [0x0, 0x3fff] @0x0",
            "p0 commit",
            "p10 commit",
        ], log);
    }

    [Fact]
    public void Equal_listener_priorities_keep_registration_order()
    {
        var (_, space, _, hole) = LowWithHole();
        var log = new List<string>();
        var a = new RecordingListener("a", log, priority: 5);
        var b = new RecordingListener("b", log, priority: 5);
        var c = new RecordingListener("c", log, priority: -1);
        space.RegisterListener(a);
        space.RegisterListener(b);
        space.RegisterListener(c);
        Assert.Equal([c, a, b], space.Listeners);
        Assert.Equal([c, a, b], space.Map.Listeners);
        log.Clear();

        hole.SetEnabled(false);

        Assert.Equal(["c begin", "a begin", "b begin"], log.Take(3));
        Assert.Equal(["b del low [0x0, 0xfff] @0x0", "a del low [0x0, 0xfff] @0x0", "c del low [0x0, 0xfff] @0x0"],
            log.Skip(3).Take(3));
        Assert.Equal(["c commit", "a commit", "b commit"], log.TakeLast(3));
    }

    [Fact]
    public void Begin_and_commit_go_to_all_listeners_and_the_diff_to_each_address_space_in_creation_order()
    {
        var (map, first, _, hole) = LowWithHole();
        MemoryRegion otherRoot = map.CreateContainer("other-root", ulong.MaxValue);
        otherRoot.AddSubregion(0x0, map.CreateAlias("sys", first.Root, 0, ulong.MaxValue));
        AddressSpace second = map.CreateAddressSpace("second", otherRoot);
        var log = new List<string>();
        MemoryRegion unrelated = map.CreateContainer("unrelated-root", 0x1000UL);
        AddressSpace third = map.CreateAddressSpace("third", unrelated);
        second.RegisterListener(new RecordingListener("s", log));
        first.RegisterListener(new RecordingListener("f", log));
        third.RegisterListener(new RecordingListener("t", log));
        log.Clear();

        hole.SetEnabled(false);

        Assert.Equal(
        [
            "s begin",
            "f begin",
            "t begin",
            "f del low [0x0, 0xfff] @0x0",
            "f del hole [0x1000, 0x1fff] @0x0",
            "f del low [0x2000, 0x3fff] @0x2000",
            "f add low [0x0, 0x3fff] @0x0",
            "s del low [0x0, 0xfff] @0x0",
            "s del hole [0x1000, 0x1fff] @0x0",
            "s del low [0x2000, 0x3fff] @0x2000",
            "s add low [0x0, 0x3fff] @0x0",
            "s commit",
            "f commit",
            "t commit",
        ], log);
    }

    [Fact]
    public void A_change_outside_every_address_space_still_commits_with_nops()
    {
        // QEMU re-renders every view on any pending update; unchanged ranges get region_nop.
        var (map, space, _, _) = LowWithHole();
        MemoryRegion loose = map.CreateContainer("loose", 0x1000UL);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        loose.AddSubregion(0x0, map.CreateRam("r", 0x1000UL));

        Assert.Equal(
        [
            "l begin",
            "l nop low [0x0, 0xfff] @0x0",
            "l nop hole [0x1000, 0x1fff] @0x0",
            "l nop low [0x2000, 0x3fff] @0x2000",
            "l commit",
        ], log);
    }

    [Fact]
    public void Set_alias_offset_moves_the_section_in_the_target()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x10000UL);
        MemoryRegion win = map.CreateAlias("win", ram, 0x0, 0x1000UL);
        root.AddSubregion(0x8000, win);
        AddressSpace space = map.CreateAddressSpace("memory", root);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("l", log));
        log.Clear();

        win.SetAliasOffset(0x3000);

        Assert.Equal(["l begin", "l del ram [0x8000, 0x8fff] @0x0", "l add ram [0x8000, 0x8fff] @0x3000", "l commit"], log);
        Assert.Throws<InvalidOperationException>(() => ram.SetAliasOffset(0));
    }

    [Fact]
    public void Changing_the_map_from_inside_a_listener_callback_is_rejected()
    {
        var (_, space, _, hole) = LowWithHole();
        var evil = new ReentrantListener(hole);
        space.RegisterListener(evil);
        evil.Armed = true;
        hole.SetAddress(0x2000);
        Assert.IsType<InvalidOperationException>(evil.Caught);
    }

    [Fact]
    public void Destroying_an_address_space_requires_its_listeners_to_be_gone_and_stops_its_updates()
    {
        var (map, space, _, hole) = LowWithHole();
        var log = new List<string>();
        var l = new RecordingListener("l", log);
        space.RegisterListener(l);
        var e = Assert.Throws<InvalidOperationException>(() => map.DestroyAddressSpace(space));
        Assert.Contains("unregister them first", e.Message, StringComparison.Ordinal);
        Assert.Contains(space, map.AddressSpaces);

        space.UnregisterListener(l);
        map.DestroyAddressSpace(space);
        Assert.Empty(map.AddressSpaces);
        hole.SetEnabled(false);
        Assert.Throws<InvalidOperationException>(() => space.RegisterListener(l));
        Assert.Throws<ArgumentException>(() => map.DestroyAddressSpace(space));
    }

    [Fact]
    public void Qemu_devel_2016_whole_space_iommu_section_reaches_listeners_with_size_2_pow_64_on_add_and_del()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion dmar = map.CreateIommu("dmar", ulong.MaxValue);
        root.AddSubregion(0, dmar);
        AddressSpace space = map.CreateAddressSpace("dma", root);
        var l = new RecordingListener("l", []);
        space.RegisterListener(l);
        dmar.SetEnabled(false);
        space.UnregisterListener(l); // nothing left to tear down

        MemoryRegionSection added = Assert.Single(l.Added);
        MemoryRegionSection deleted = Assert.Single(l.Deleted);
        Assert.Equal(added, deleted);
        Assert.Equal((UInt128)1 << 64, added.Size);
        Assert.Equal(ulong.MaxValue, added.Range.Last);
        Assert.Same(dmar, added.Region);
    }

    [Fact]
    public void Vtd_guest_disabling_dmar_deletes_both_iommu_sections_before_adding_ram()
    {
        var map = new Map();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        system.AddSubregion(0x0, map.CreateRam("ram", 0x4000_0000UL));
        MemoryRegion irTarget = map.CreateReservation("vtd-ir", 0x10_0000UL);
        MemoryRegion root = map.CreateContainer("vtd-root", ulong.MaxValue);
        MemoryRegion nodmar = map.CreateAlias("vtd-nodmar", system, 0, ulong.MaxValue);
        MemoryRegion dmar = map.CreateIommu("vtd-dmar", ulong.MaxValue);
        dmar.AddSubregionOverlap(0xfee0_0000, map.CreateAlias("vtd-ir-alias", irTarget, 0, 0x10_0000UL), 1);
        nodmar.SetEnabled(false);
        root.AddSubregion(0, nodmar);
        root.AddSubregion(0, dmar);
        AddressSpace space = map.CreateAddressSpace("vtd", root);
        var log = new List<string>();
        space.RegisterListener(new RecordingListener("vfio", log));
        log.Clear();

        using (map.Transaction())
        {
            dmar.SetEnabled(false);
            nodmar.SetEnabled(true);
        }

        Assert.Equal(
        [
            "vfio begin",
            "vfio del vtd-dmar [0x0, 0xfedfffff] @0x0",
            "vfio del vtd-ir [0xfee00000, 0xfeefffff] @0x0",
            "vfio del vtd-dmar [0xfef00000, 0xffffffffffffffff] @0xfef00000",
            "vfio add ram [0x0, 0x3fffffff] @0x0",
            "vfio commit",
        ], log);
    }

    [Fact]
    public void Registering_the_same_listener_twice_is_rejected()
    {
        var (_, space, _, _) = LowWithHole();
        var l = new RecordingListener("l", []);
        space.RegisterListener(l);
        Assert.Throws<ArgumentException>(() => space.RegisterListener(l));
    }

    [Fact]
    public void Listener_replica_built_from_add_and_del_always_equals_the_flat_view()
    {
        var (map, space, low, hole) = LowWithHole();
        var replica = new ReplicaListener();
        space.RegisterListener(replica);

        hole.SetEnabled(false);
        Assert.Equal(space.FlatView.Sections, replica.Sections);
        using (map.Transaction())
        {
            hole.SetEnabled(true);
            hole.SetAddress(0x3800);
            low.SetSize(0x3900UL);
        }

        Assert.Equal(space.FlatView.Sections, replica.Sections);
        space.UnregisterListener(replica);
        Assert.Empty(replica.Sections);
    }

    private sealed class ReentrantListener(MemoryRegion victim) : IMemoryListener
    {
        public bool Armed { get; set; }

        public Exception? Caught { get; private set; }

        public void Begin()
        {
            if (Armed)
            {
                Caught = Record.Exception(() => victim.SetEnabled(!victim.Enabled));
            }
        }
    }

    private sealed class ReplicaListener : IMemoryListener
    {
        private readonly SortedDictionary<ulong, MemoryRegionSection> _map = [];

        public IEnumerable<MemoryRegionSection> Sections => _map.Values;

        public void RegionAdd(MemoryRegionSection section) => _map.Add(section.OffsetWithinAddressSpace, section);

        public void RegionDel(MemoryRegionSection section)
        {
            Assert.Equal(section, _map[section.OffsetWithinAddressSpace]);
            _map.Remove(section.OffsetWithinAddressSpace);
        }

        public void RegionNop(MemoryRegionSection section) => Assert.Equal(section, _map[section.OffsetWithinAddressSpace]);
    }
}
