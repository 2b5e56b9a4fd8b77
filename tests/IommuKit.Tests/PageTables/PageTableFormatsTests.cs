using System.Runtime.CompilerServices;
using CsCheck;
using IommuKit.PageTables;

namespace IommuKit.Tests.PageTables;

public class PageTableFormatsTests
{
    [Theory]
    [InlineData("x86-sl-4level", PageTableFormat.X86SecondLevel4Level)]
    [InlineData("x86-sl-5level", PageTableFormat.X86SecondLevel5Level)]
    [InlineData("arm-lpae-48", PageTableFormat.ArmLpae48)]
    [InlineData("ARM-LPAE-48", PageTableFormat.ArmLpae48)]
    public void Names_parse_and_round_trip(string name, PageTableFormat format)
    {
        Assert.True(PageTableFormats.TryParse(name, out PageTableFormat parsed));
        Assert.Equal(format, parsed);
        Assert.Equal(format, PageTableFormats.Parse(name));
        Assert.Equal(name.ToLowerInvariant(), PageTableFormats.Name(format));
    }

    [Fact]
    public void Unknown_name_is_rejected_listing_the_valid_names()
    {
        Assert.False(PageTableFormats.TryParse("x86-sl-3level", out _));
        Assert.False(PageTableFormats.TryParse(null, out _));
        ArgumentException ex = Assert.Throws<ArgumentException>(() => PageTableFormats.Parse("riscv-sv48"));
        Assert.Contains("x86-sl-4level, x86-sl-5level, arm-lpae-48", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Layout_constants_derive_from_page_and_level_bits()
    {
        Assert.Equal(48, PageTableLayout.Width4Level);   // 9 * 4 + 12
        Assert.Equal(57, PageTableLayout.Width5Level);   // 9 * 5 + 12
        Assert.Equal(4096, PageTableLayout.EntriesPerTable * PageTableLayout.EntryBytes);
        Assert.Equal([12, 21, 30, 39, 48], Enumerable.Range(1, 5).Select(PageTableLayout.Shift));
        Assert.Equal(0x4000_0000UL, PageTableLayout.EntrySpan(3));
        Assert.Equal(511, PageTableLayout.EntryIndex(0xffff_ffff_ffffUL, 4));
        Assert.Equal(3, PageTableLayout.LevelOfLeafSize(0x4000_0000));
        Assert.Equal(0, PageTableLayout.LevelOfLeafSize(0x8000));
    }

    [Fact]
    public void Pte_structs_are_one_word()
    {
        Assert.Equal(8, Unsafe.SizeOf<X86SecondLevelPte>());
        Assert.Equal(8, Unsafe.SizeOf<ArmLpaePte>());
        Assert.True(Unsafe.SizeOf<PageTranslation>() <= 32);
    }

    [Fact]
    public void Pte_properties_decode_the_named_bits()
    {
        var x86 = X86SecondLevelPte.Leaf(0x1234_4000_0000, Permissions.Read, huge: true);
        Assert.Equal(0x1234_4000_0081UL, x86.Raw);
        Assert.True(x86.Read && !x86.Write && x86.PageSize && x86.IsPresent && !x86.Snoop);
        Assert.Equal(0x1234_4000_0000UL, x86.Address);
        Assert.False(new X86SecondLevelPte(1UL << 7).IsPresent);

        var arm = ArmLpaePte.Leaf(0x8000_0000, Permissions.Read, block: true);
        Assert.True(arm.IsValid && arm.IsBlock && arm.AccessFlag && arm.ReadOnly && arm.Unprivileged && !arm.ExecuteNever);
        Assert.Equal(0x8000_0000UL | 0b01 | (1UL << 10) | (3UL << 8) | (1UL << 6) | (1UL << 7), arm.Raw);
        Assert.Equal(Permissions.Read, arm.Permissions);
        Assert.True(ArmLpaePte.Table(0x5000).IsTableOrPage);
    }

    [Fact]
    public void Level1_present_and_leaf_bits_agree_with_decode_for_every_format()
    {
        // The vectorised run checks of the engine test these bits instead of decoding each entry.
        Gen.Select(Gen.ULong, Gen.UInt[0, 0xfff], Gen.Bool, (high, low, zeroHigh) => (zeroHigh ? 0 : high & ~0xfffUL) | low)
            .Sample(pte =>
            {
                Check<X86SecondLevel3LevelSpec>(pte);
                Check<X86SecondLevel4LevelSpec>(pte);
                Check<X86SecondLevel5LevelSpec>(pte);
                Check<ArmLpae48Spec>(pte);
            }, seed: "0N0XIzNsQ0O2", iter: 20_000, threads: 1);
    }

    private static void Check<TFormat>(ulong pte)
        where TFormat : struct, IPageTableFormatSpec
    {
        PteKind kind = TFormat.Decode(pte, 1, out _, out _);
        bool present = (pte & TFormat.Level1PresentBits) != 0;
        bool leaf = present && (pte & TFormat.Level1LeafBits) == TFormat.Level1LeafBits;
        Assert.Equal(kind != PteKind.NotPresent, present);
        Assert.Equal(kind == PteKind.Leaf, leaf);
    }
}
