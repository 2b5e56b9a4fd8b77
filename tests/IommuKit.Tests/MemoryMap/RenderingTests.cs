using IommuKit.Addressing;
using IommuKit.MemoryMap;
using Map = IommuKit.MemoryMap.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>QEMU's render_memory_region + flatview_simplify (reference notes 1.3 and 1.4).</summary>
public class RenderingTests
{
    private const ulong Top = ulong.MaxValue;
    private static readonly UInt128 TwoTo64 = (UInt128)1 << 64;

    [Fact]
    public void Docs_memory_rst_worked_example_C_D_C_E_C_and_nothing_past_0x6000()
    {
        // docs/devel/memory.rst: A (0x8000) holds C (MMIO @0, 0x6000, prio 1) and B (container @0x2000, 0x4000,
        // prio 2) holding D @0 and E @0x2000 (0x1000 each). B's holes let C show through.
        var map = new Map();
        MemoryRegion a = map.CreateContainer("A", 0x8000UL);
        MemoryRegion c = map.CreateReservation("C", 0x6000UL);
        MemoryRegion b = map.CreateContainer("B", 0x4000UL);
        b.AddSubregion(0x0, map.CreateReservation("D", 0x1000UL));
        b.AddSubregion(0x2000, map.CreateReservation("E", 0x1000UL));
        a.AddSubregionOverlap(0x0, c, 1);
        a.AddSubregionOverlap(0x2000, b, 2);
        AddressSpace space = map.CreateAddressSpace("A", a);

        Assert.Equal(
        [
            "C [0x0, 0x1fff] @0x0",
            "D [0x2000, 0x2fff] @0x0",
            "C [0x3000, 0x3fff] @0x3000",
            "E [0x4000, 0x4fff] @0x0",
            "C [0x5000, 0x5fff] @0x5000",
        ], FlatViewText.Of(space));
        Assert.False(space.FlatView.TryFind(0x6000, out _));
        Assert.False(space.FlatView.TryFind(0x7fff, out _));
    }

    [Fact]
    public void Docs_memory_rst_variant_B_with_its_own_MMIO_ops_fills_its_holes_C_D_B_E_B()
    {
        var map = new Map();
        MemoryRegion a = map.CreateContainer("A", 0x8000UL);
        MemoryRegion c = map.CreateReservation("C", 0x6000UL);
        MemoryRegion b = map.CreateReservation("B", 0x4000UL); // a terminating region with subregions
        b.AddSubregion(0x0, map.CreateReservation("D", 0x1000UL));
        b.AddSubregion(0x2000, map.CreateReservation("E", 0x1000UL));
        a.AddSubregionOverlap(0x0, c, 1);
        a.AddSubregionOverlap(0x2000, b, 2);
        AddressSpace space = map.CreateAddressSpace("A", a);

        Assert.Equal(
        [
            "C [0x0, 0x1fff] @0x0",
            "D [0x2000, 0x2fff] @0x0",
            "B [0x3000, 0x3fff] @0x1000",
            "E [0x4000, 0x4fff] @0x0",
            "B [0x5000, 0x5fff] @0x3000",
        ], FlatViewText.Of(space));
    }

    [Fact]
    public void Equal_priority_the_most_recently_added_subregion_wins()
    {
        // memory_region_update_container_subregions inserts before the first sibling with priority <= its own.
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion first = map.CreateRam("first", 0x2000UL);
        MemoryRegion second = map.CreateRam("second", 0x1000UL);
        root.AddSubregion(0x1000, first);
        root.AddSubregion(0x1000, second);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(["second [0x1000, 0x1fff] @0x0", "first [0x2000, 0x2fff] @0x1000"], FlatViewText.Of(space));
        Assert.Equal([second, first], root.Subregions);

        // Re-adding (set_address) makes "first" the newest of the equal-priority siblings: it now wins.
        first.SetAddress(0x1001);
        first.SetAddress(0x1000);
        Assert.Equal(["first [0x1000, 0x2fff] @0x0"], FlatViewText.Of(space));
    }

    [Fact]
    public void Higher_priority_wins_and_a_lower_priority_newer_sibling_stays_below()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", 0x10000UL);
        MemoryRegion high = map.CreateRam("high", 0x1000UL);
        MemoryRegion low = map.CreateRam("low", 0x3000UL);
        root.AddSubregionOverlap(0x1000, high, 5);
        root.AddSubregionOverlap(0x0, low, -5); // added later, but lower priority
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(
            ["low [0x0, 0xfff] @0x0", "high [0x1000, 0x1fff] @0x0", "low [0x2000, 0x2fff] @0x2000"],
            FlatViewText.Of(space));
        Assert.Equal([high, low], root.Subregions);
    }

    [Fact]
    public void Holes_of_a_higher_priority_container_fall_through_recursively_to_lower_siblings()
    {
        // root: ram (prio 0, [0, 0x7fff]) and outer (container prio 2) holding inner (container prio 1) holding
        // dev @0x1000 of inner (inner @0x2000 of outer, outer @0x1000). Only dev is claimed; all else is ram.
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", 0x10000UL);
        MemoryRegion ram = map.CreateRam("ram", 0x8000UL);
        MemoryRegion outer = map.CreateContainer("outer", 0x6000UL);
        MemoryRegion inner = map.CreateContainer("inner", 0x3000UL);
        inner.AddSubregion(0x1000, map.CreateReservation("dev", 0x1000UL));
        outer.AddSubregionOverlap(0x2000, inner, 1);
        root.AddSubregion(0x0, ram);
        root.AddSubregionOverlap(0x1000, outer, 2);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(
            ["ram [0x0, 0x3fff] @0x0", "dev [0x4000, 0x4fff] @0x0", "ram [0x5000, 0x7fff] @0x5000"],
            FlatViewText.Of(space));
    }

    [Fact]
    public void Subregions_of_a_RAM_region_take_precedence_and_its_backing_fills_the_holes()
    {
        // VT-d style: a terminating region with a priority-1 subregion at 0xfee00000.
        var map = new Map();
        MemoryRegion ram = map.CreateRam("ram", 0x1_0000_0000UL);
        ram.AddSubregionOverlap(0xfee0_0000, map.CreateReservation("ir", 0x10_0000UL), 1);
        AddressSpace space = map.CreateAddressSpace("as", ram);

        Assert.Equal(
        [
            "ram [0x0, 0xfedfffff] @0x0",
            "ir [0xfee00000, 0xfeefffff] @0x0",
            "ram [0xfef00000, 0xffffffff] @0xfef00000",
        ], FlatViewText.Of(space));
    }

    [Fact]
    public void Alias_with_positive_offset_maps_the_target_window()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x10000UL);
        root.AddSubregion(0x1000, map.CreateAlias("win", ram, 0x4000, 0x2000UL));
        AddressSpace space = map.CreateAddressSpace("as", root);

        // Listeners see the target, never the alias.
        Assert.Equal(["ram [0x1000, 0x2fff] @0x4000"], FlatViewText.Of(space));
    }

    [Fact]
    public void Alias_offset_beyond_its_position_puts_the_target_base_below_0_and_only_what_exists_renders()
    {
        // alias @0x1000, alias_offset 0x6000, size 0x4000 over an 0x8000 target: the target's base is
        // 0x1000 - 0x6000 = -0x5000 (signed 128-bit); the window [0x6000, 0xa000) passes the target's end at 0x8000.
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x8000UL);
        root.AddSubregion(0x1000, map.CreateAlias("win", ram, 0x6000, 0x4000UL));
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(["ram [0x1000, 0x2fff] @0x6000"], FlatViewText.Of(space));
    }

    [Fact]
    public void Alias_offset_near_2_pow_64_takes_the_target_entirely_below_0_and_renders_nothing()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x8000UL);
        root.AddSubregion(0x0, map.CreateAlias("win", ram, 0xffff_ffff_ffff_f000, 0x4000UL));
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Empty(space.FlatView.Ranges);
    }

    [Fact]
    public void Alias_cancels_the_target_address_in_its_own_container_even_when_the_base_crosses_below_0()
    {
        // The target sits @0x5000 of system memory; the alias @0x1000 of another root with offset 0x100.
        // base = 0x1000 - 0x5000 - 0x100 (negative), then + 0x5000 inside the target: offset 0x100 lands on 0x1000.
        var map = new Map();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x2000UL);
        system.AddSubregion(0x5000, ram);
        MemoryRegion other = map.CreateContainer("other", ulong.MaxValue);
        other.AddSubregion(0x1000, map.CreateAlias("win", ram, 0x100, 0x1000UL));
        AddressSpace space = map.CreateAddressSpace("other", other);

        Assert.Equal(["ram [0x1000, 0x1fff] @0x100"], FlatViewText.Of(space));
    }

    [Fact]
    public void Alias_to_a_region_at_the_2_pow_64_edge()
    {
        // ram [2^64-0x2000, 2^64-1] in system; an alias @0 of another root onto its second page.
        var map = new Map();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x2000UL);
        system.AddSubregion(0xffff_ffff_ffff_e000, ram);
        AddressSpace sys = map.CreateAddressSpace("system", system);
        MemoryRegion other = map.CreateContainer("other", ulong.MaxValue);
        other.AddSubregion(0x0, map.CreateAlias("low", ram, 0x1000, 0x1000UL));

        // And an alias placed on the last page whose 0x2000-byte window is clipped at 2^64.
        other.AddSubregion(0xffff_ffff_ffff_f000, map.CreateAlias("top", ram, 0x0, 0x2000UL));
        AddressSpace space = map.CreateAddressSpace("other", other);

        Assert.Equal(["ram [0xffffffffffffe000, 0xffffffffffffffff] @0x0"], FlatViewText.Of(sys));
        Assert.Equal(
            ["ram [0x0, 0xfff] @0x1000", "ram [0xfffffffffffff000, 0xffffffffffffffff] @0x0"],
            FlatViewText.Of(space));
        Assert.Equal((UInt128)0x1000, space.FlatView.Ranges[1].ToSection().Size);
    }

    [Fact]
    public void Region_of_2_pow_64_at_0x1000_is_clipped_to_0x1000_through_2_pow_64_minus_1()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        root.AddSubregion(0x1000, map.CreateIommu("dmar", ulong.MaxValue));
        AddressSpace space = map.CreateAddressSpace("as", root);

        FlatRange r = Assert.Single(space.FlatView.Ranges);
        Assert.Equal(IovaRange.FromFirstLast(0x1000, Top), r.Range);
        Assert.Equal(0UL, r.OffsetInRegion);
        Assert.Equal(TwoTo64 - 0x1000, r.ToSection().Size);
    }

    [Fact]
    public void Subregion_placed_past_2_pow_64_through_a_shifted_container_is_invisible()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion shifted = map.CreateContainer("shifted", ulong.MaxValue);
        shifted.AddSubregion(0xffff_ffff_ffff_e000, map.CreateRam("below", 0x1000UL));
        shifted.AddSubregion(0xffff_ffff_ffff_f000, map.CreateRam("past", 0x1000UL));
        root.AddSubregion(0x1000, shifted);
        AddressSpace space = map.CreateAddressSpace("as", root);

        // below: 0x1000 + 2^64 - 0x2000 = 2^64 - 0x1000 -> the last page; past: 0x1000 + 2^64 - 0x1000 = 2^64 -> gone.
        Assert.Equal(["below [0xfffffffffffff000, 0xffffffffffffffff] @0x0"], FlatViewText.Of(space));
    }

    [Fact]
    public void Qemu_devel_2016_iommu_region_of_2_pow_64_at_0_is_one_section_of_size_exactly_2_pow_64()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        root.AddSubregion(0x0, map.CreateIommu("dmar", ulong.MaxValue));
        AddressSpace space = map.CreateAddressSpace("as", root);

        MemoryRegionSection section = Assert.Single(space.FlatView.Sections);
        Assert.Equal(TwoTo64, section.Size);
        Assert.Equal(0UL, section.OffsetWithinAddressSpace);
        Assert.Equal(0xffff_ffff_ffff_ffffUL, section.Range.Last);
        Assert.True(section.Range.IsFull);
        Assert.True(section.Region.IsIommu);
    }

    [Fact]
    public void Readonly_and_nonvolatile_are_inherited_through_a_container_and_an_alias()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x4000UL);
        MemoryRegion roBox = map.CreateContainer("ro-box", 0x10000UL);
        roBox.SetReadOnly(true);
        MemoryRegion alias = map.CreateAlias("nv-alias", ram, 0x0, 0x1000UL);
        alias.SetNonVolatile(true);
        roBox.AddSubregion(0x0, alias);
        root.AddSubregion(0x0, ram);
        root.AddSubregionOverlap(0x10000, roBox, 0);
        MemoryRegion roAlias = map.CreateAlias("ro-alias", ram, 0x1000, 0x1000UL);
        roAlias.SetReadOnly(true);
        root.AddSubregion(0x20000, roAlias);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(
        [
            "ram [0x0, 0x3fff] @0x0",
            "ram [0x10000, 0x10fff] @0x0 ro nv",
            "ram [0x20000, 0x20fff] @0x1000 ro",
        ], FlatViewText.Of(space));
        Assert.False(ram.ReadOnly);
    }

    [Fact]
    public void Rom_is_ram_that_starts_readonly()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion rom = map.CreateRom("bios", 0x1000UL);
        root.AddSubregion(0xffff_f000, rom);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.True(rom.IsRam);
        Assert.True(rom.IsRom);
        Assert.Equal(["bios [0xfffff000, 0xffffffff] @0x0 ro"], FlatViewText.Of(space));
    }

    [Fact]
    public void Flatview_simplify_merges_two_aliases_contiguous_in_address_space_and_in_target_into_one_range()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x10000UL);
        root.AddSubregion(0x0, map.CreateAlias("a0", ram, 0x2000, 0x1000UL));
        root.AddSubregion(0x1000, map.CreateAlias("a1", ram, 0x3000, 0x1000UL));
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(["ram [0x0, 0x1fff] @0x2000"], FlatViewText.Of(space));
    }

    [Fact]
    public void Flatview_simplify_keeps_two_ranges_when_the_target_is_not_contiguous()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x10000UL);
        root.AddSubregion(0x0, map.CreateAlias("a0", ram, 0x2000, 0x1000UL));
        root.AddSubregion(0x1000, map.CreateAlias("a1", ram, 0x5000, 0x1000UL));
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(["ram [0x0, 0xfff] @0x2000", "ram [0x1000, 0x1fff] @0x5000"], FlatViewText.Of(space));
    }

    [Fact]
    public void Flatview_simplify_keeps_two_ranges_when_readonly_differs()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x10000UL);
        root.AddSubregion(0x0, map.CreateAlias("a0", ram, 0x2000, 0x1000UL));
        MemoryRegion a1 = map.CreateAlias("a1", ram, 0x3000, 0x1000UL);
        a1.SetReadOnly(true);
        root.AddSubregion(0x1000, a1);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Equal(["ram [0x0, 0xfff] @0x2000", "ram [0x1000, 0x1fff] @0x3000 ro"], FlatViewText.Of(space));
    }

    [Fact]
    public void Disabled_region_and_everything_below_it_render_nothing()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        MemoryRegion box = map.CreateContainer("box", 0x2000UL);
        box.AddSubregion(0x0, map.CreateRam("ram", 0x1000UL));
        box.SetEnabled(false);
        root.AddSubregion(0x0, box);
        AddressSpace space = map.CreateAddressSpace("as", root);

        Assert.Empty(space.FlatView.Ranges);
    }

    [Fact]
    public void Vtd_dmar_layout_two_iommu_sections_around_the_interrupt_window()
    {
        // intel_iommu vtd_find_add_as: root (2^64) with nodmar alias (disabled) and the 2^64 IOMMU region, which
        // holds the interrupt-remapping alias at 0xfee00000 (size 0x100000, priority 1).
        var map = new Map();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        MemoryRegion ram = map.CreateRam("ram", 0x4000_0000UL);
        system.AddSubregion(0x0, ram);
        MemoryRegion irTarget = map.CreateReservation("vtd-ir-mr", 0x10_0000UL);
        MemoryRegion root = map.CreateContainer("vtd-root", ulong.MaxValue);
        MemoryRegion nodmar = map.CreateAlias("vtd-nodmar", system, 0, ulong.MaxValue);
        MemoryRegion dmar = map.CreateIommu("vtd-dmar", ulong.MaxValue);
        dmar.AddSubregionOverlap(0xfee0_0000, map.CreateAlias("vtd-ir", irTarget, 0, 0x10_0000UL), 1);
        root.AddSubregionOverlap(0, nodmar, 0);
        root.AddSubregionOverlap(0, dmar, 0);
        nodmar.SetEnabled(false);
        AddressSpace space = map.CreateAddressSpace("vtd", root);

        Assert.Equal(
        [
            "vtd-dmar [0x0, 0xfedfffff] @0x0",
            "vtd-ir-mr [0xfee00000, 0xfeefffff] @0x0",
            "vtd-dmar [0xfef00000, 0xffffffffffffffff] @0xfef00000",
        ], FlatViewText.Of(space));
        Assert.Equal((UInt128)0xffff_ffff_0110_0000UL, space.FlatView.Ranges[2].ToSection().Size);

        // Guest turns DMAR off: the device sees system memory 1:1.
        using (map.Transaction())
        {
            dmar.SetEnabled(false);
            nodmar.SetEnabled(true);
        }

        Assert.Equal(["ram [0x0, 0x3fffffff] @0x0"], FlatViewText.Of(space));
    }
}
