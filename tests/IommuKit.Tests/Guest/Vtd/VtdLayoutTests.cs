using IommuKit.MemoryMap;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>intel_iommu per-device address space (reference §3.3).</summary>
public class VtdLayoutTests
{
    [Fact]
    public void Dmar_on_gives_two_iommu_sections_around_the_interrupt_window()
    {
        var f = new VtdFixture();
        IReadOnlyList<FlatRange> ranges = f.Device.AddressSpace.FlatView.Ranges;
        List<MemoryRegionSection> sections = ranges.Select(r => r.ToSection()).ToList();

        Assert.Equal(3, sections.Count);
        Assert.Same(f.Device.Dmar, sections[0].Region);
        Assert.Equal(0x0UL, sections[0].OffsetWithinAddressSpace);
        Assert.Equal((UInt128)0xfee0_0000, sections[0].Size);
        Assert.Equal(0xfedf_ffffUL, sections[0].Range.Last);

        Assert.Same(f.Device.InterruptRegion, sections[1].Region);
        Assert.Equal(0xfee0_0000UL, sections[1].OffsetWithinAddressSpace);
        Assert.Equal((UInt128)0x10_0000, sections[1].Size);

        Assert.Same(f.Device.Dmar, sections[2].Region);
        Assert.Equal(0xfef0_0000UL, sections[2].OffsetWithinAddressSpace);
        Assert.Equal(0xfef0_0000UL, sections[2].OffsetWithinRegion);
        Assert.Equal((UInt128)0xffff_ffff_0110_0000, sections[2].Size);
        Assert.Equal(ulong.MaxValue, sections[2].Range.Last);
    }

    [Fact]
    public void Region_names_follow_qemu_vtd_slot_function()
    {
        var f = new VtdFixture();
        Assert.Equal("vtd-03.0", f.Device.Root.Name);
        Assert.Equal("vtd-03.0-dmar", f.Device.Dmar.Name);
        Assert.Equal("vtd-nodmar", f.Device.NoDmar.Name);
        Assert.Equal("vtd-ir", f.Device.InterruptRegion.Name);
        Assert.Equal(0x18, f.Device.SourceId);
        Assert.Equal("00.03.0", f.Device.DeviceName);
    }

    [Fact]
    public void Dmar_off_gives_system_memory_one_to_one()
    {
        var f = new VtdFixture(enable: false);
        MemoryRegionSection only = Assert.Single(f.Device.AddressSpace.FlatView.Ranges).ToSection();
        Assert.Same(f.Ram, only.Region);
        Assert.Equal((UInt128)VtdFixture.RamSize, only.Size);
        Assert.False(f.Device.Dmar.Enabled);
        Assert.True(f.Device.NoDmar.Enabled);

        f.Driver.EnableTranslation();
        Assert.True(f.Device.Dmar.Enabled);
        Assert.False(f.Device.NoDmar.Enabled);
        f.Driver.DisableTranslation();
        Assert.Same(f.Ram, Assert.Single(f.Device.AddressSpace.FlatView.Ranges).ToSection().Region);
    }

    [Fact]
    public void A_pass_through_context_switches_to_nodmar_even_with_dmar_on()
    {
        var f = new VtdFixture(attach: false);
        f.Driver.AttachDevice(f.Domain, VtdFixture.Bus, VtdFixture.DevFn, passThrough: true);
        Assert.False(f.Device.Dmar.Enabled);
        Assert.True(f.Device.NoDmar.Enabled);
    }

    [Fact]
    public void Capability_register_advertises_cm_sagaw_mgaw_and_mamv_18()
    {
        ulong cap39 = new VtdFixture(cachingMode: false).Unit.Capability;
        ulong cap48 = new VtdFixture(cachingMode: true, addressWidth: 48).Unit.Capability;

        Assert.Equal(0UL, cap39 & (1UL << 7));
        Assert.Equal(1UL << 7, cap48 & (1UL << 7));
        Assert.Equal(0x2UL, (cap39 >> 8) & 0x1f);   // SAGAW bit 1: 39-bit
        Assert.Equal(0x6UL, (cap48 >> 8) & 0x1f);   // SAGAW bits 1 and 2: 39 and 48
        Assert.Equal(38UL, (cap39 >> 16) & 0x3f);   // MGAW = aw - 1
        Assert.Equal(47UL, (cap48 >> 16) & 0x3f);
        Assert.Equal(18UL, (cap39 >> 48) & 0x3f);   // MAMV
        Assert.Equal(1UL << 39, cap39 & (1UL << 39)); // PSI
    }
}
