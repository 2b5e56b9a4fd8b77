using IommuKit.MemoryMap;
using Map = IommuKit.MemoryMap.MemoryMap;

namespace IommuKit.Tests.MemoryMap;

/// <summary>The info mtree / info mtree -f text and data model.</summary>
public class MemoryTreeTests
{
    private static AddressSpace Machine(out MemoryRegion ram)
    {
        var map = new Map();
        MemoryRegion system = map.CreateContainer("system", ulong.MaxValue);
        ram = map.CreateRam("pc.ram", 0x2_0000_0000UL);
        system.AddSubregion(0x0, map.CreateAlias("ram-below-4g", ram, 0, 0x8000_0000UL));
        system.AddSubregion(0x1_0000_0000, map.CreateAlias("ram-above-4g", ram, 0x8000_0000, 0x1_8000_0000UL));
        MemoryRegion bios = map.CreateRom("pc.bios", 0x4_0000UL);
        system.AddSubregionOverlap(0xfffc_0000, bios, 1);
        MemoryRegion pci = map.CreateContainer("pci", 0x1000_0000UL);
        pci.AddSubregion(0x100_0000, map.CreateReservation("bar0", 0x1000UL));
        MemoryRegion off = map.CreateReservation("off", 0x1000UL);
        pci.AddSubregion(0x200_0000, off);
        off.SetEnabled(false);
        system.AddSubregionOverlap(0xe000_0000, pci, -1);
        return map.CreateAddressSpace("memory", system);
    }

    [Fact]
    public void Info_mtree_lists_the_tree_with_absolute_ranges_and_alias_targets_after_it()
    {
        AddressSpace space = Machine(out _);
        Assert.Equal(
            """
            address-space: memory
              0000000000000000-ffffffffffffffff (prio 0, i/o): system
                00000000fffc0000-00000000ffffffff (prio 1, rom): pc.bios
                0000000100000000-000000027fffffff (prio 0, ram): alias ram-above-4g @pc.ram 0000000080000000-00000001ffffffff
                0000000000000000-000000007fffffff (prio 0, ram): alias ram-below-4g @pc.ram 0000000000000000-000000007fffffff
                00000000e0000000-00000000efffffff (prio -1, i/o): pci
                  00000000e2000000-00000000e2000fff (prio 0, i/o): off [disabled]
                  00000000e1000000-00000000e1000fff (prio 0, i/o): bar0

            memory-region: pc.ram
              0000000000000000-00000001ffffffff (prio 0, ram): pc.ram

            """.ReplaceLineEndings("\n"),
            MemoryTree.Format(space));
    }

    [Fact]
    public void Info_mtree_f_lists_the_flat_view_with_offsets_and_rom_for_readonly()
    {
        AddressSpace space = Machine(out _);
        Assert.Equal(
            """
            FlatView
             AS "memory", root: system
              0000000000000000-000000007fffffff (prio 0, ram): pc.ram
              00000000e1000000-00000000e1000fff (prio 0, i/o): bar0
              00000000fffc0000-00000000ffffffff (prio 1, rom): pc.bios
              0000000100000000-000000027fffffff (prio 0, ram): pc.ram @0000000080000000

            """.ReplaceLineEndings("\n"),
            MemoryTree.FormatFlatView(space));
    }

    [Fact]
    public void Tree_model_exposes_absolute_ranges_kinds_and_children_in_rendering_order()
    {
        AddressSpace space = Machine(out MemoryRegion ram);
        MemoryTreeNode root = MemoryTree.Build(space);
        Assert.Equal((UInt128)ulong.MaxValue, root.Last);
        Assert.Equal(["pc.bios", "ram-above-4g", "ram-below-4g", "pci"], root.Children.Select(c => c.Region.Name));
        MemoryTreeNode pci = root.Children[3];
        Assert.Equal(MemoryRegionKind.Container, pci.Kind);
        Assert.Equal(-1, pci.Priority);
        Assert.Equal((UInt128)0xe100_0000, pci.Children[1].Start);
        Assert.Equal((UInt128)0xe100_0fff, pci.Children[1].Last);
        Assert.Equal("ram", root.Children[1].TypeName);
        Assert.Equal([ram], MemoryTree.AliasTargets(space));
    }

    [Fact]
    public void Full_space_iommu_flat_view_prints_its_last_address_as_all_ones()
    {
        var map = new Map();
        MemoryRegion root = map.CreateContainer("root", ulong.MaxValue);
        root.AddSubregion(0, map.CreateIommu("dmar", ulong.MaxValue));
        string text = MemoryTree.FormatFlatView(map.CreateAddressSpace("dma", root));
        Assert.Contains("  0000000000000000-ffffffffffffffff (prio 0, i/o): dmar\n", text, StringComparison.Ordinal);
    }
}
