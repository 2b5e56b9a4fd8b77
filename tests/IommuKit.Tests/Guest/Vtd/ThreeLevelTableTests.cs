using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Guest.Vtd;

/// <summary>The 39-bit, 3-level VT-d second-level format the guest driver uses for aw-bits 39.</summary>
public class ThreeLevelTableTests
{
    [Fact]
    public void Three_levels_map_39_bits_with_1g_leaves_in_the_root()
    {
        IoPageTable t = IoPageTable.Create(PageTableFormat.X86SecondLevel3Level, new FrameAllocator(new PhysicalMemory()));
        Assert.Equal(39, t.AddressWidth);
        Assert.Equal(3, t.Levels);
        Assert.Equal(IovaRange.FromFirstLast(0, 0x7f_ffff_ffff), t.AddressRange);
        Assert.Equal("x86-sl-3level", PageTableFormats.Name(t.Format));
        Assert.False(PageTableFormats.TryParse("x86-sl-3level", out _)); // not a host IOMMU format

        t.Map(IovaRange.FromStartSize(0x7f_c000_0000, 1UL << 30), 0x4000_0000, Permissions.ReadWrite); // the last 1 GiB
        PageTranslation last = t.Translate(0x7f_ffff_ffff);
        Assert.Equal((3, 0x7fff_ffffUL), (last.Level, last.Pa));
        Assert.Equal(1, t.TablePages); // the leaf sits in the root itself
        Assert.True(t.Translate(0x80_0000_0000).IsBeyondWidth);
        Assert.Equal(PageTableStatus.BeyondWidth, t.TryMap(IovaRange.FromStartSize(0x80_0000_0000, 0x1000), 0, Permissions.Read));
    }
}
