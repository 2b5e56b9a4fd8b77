using CsCheck;
using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.Robustness;

// Hostile guest page tables: random entries in guest RAM (reserved bits set, tables pointing at each other and at
// themselves, tables outside RAM, roots outside RAM) walked with the generic walker. Every walk ends in one of the
// PageWalkStatus values, never an exception, and is bounded by the format's level count.
public class GuestPageTableFuzzTests
{
    private const ulong P = 0x1000;
    private const int RamPages = 8;

    private static readonly ulong[] Iovas =
    [
        0, P, 0x20_0000, 0x4000_0000, 0x7f_ffff_f000, 0xffff_ffff_f000, 1UL << 48, 1UL << 56, 0xffff_ffff_ffff_f000, ulong.MaxValue,
    ];

    // An entry: zero, all ones, a pointer to some RAM page (often itself: a loop) with random flag bits, a pointer
    // outside RAM, or random bits.
    private static readonly Gen<ulong> Entry = Gen.Frequency(
        (2, Gen.Const(0UL)),
        (1, Gen.Const(ulong.MaxValue)),
        (6, Gen.Select(Gen.ULong[0, RamPages - 1], Gen.ULong[0, 0xfff], Gen.ULong[0, 0xfff]).Select((page, low, high) => (page * P) | low | (high << 52))),
        (2, Gen.Select(Gen.ULong[RamPages, 1UL << 40], Gen.ULong[0, 0xfff]).Select((page, low) => (page * P) | low)),
        (2, Gen.ULong));

    private static readonly Gen<(int Format, (int Page, int Index, ulong Value)[] Writes, ulong Root, ulong Iova)> Case =
        Gen.Select(
            Gen.Int[0, 2],
            Gen.Select(Gen.Int[0, RamPages - 1], Gen.Frequency((3, Gen.Int[0, 3]), (1, Gen.Int[0, 511])), Entry).Array[1, 64],
            Gen.Frequency((8, Gen.ULong[0, RamPages - 1].Select(p => p * P)), (1, Gen.Const(RamPages * P)), (1, Gen.ULong)),
            Gen.Frequency((3, Gen.OneOf(Iovas)), (1, Gen.ULong)));

    private static readonly PageTableFormat[] Formats =
        [PageTableFormat.X86SecondLevel4Level, PageTableFormat.X86SecondLevel5Level, PageTableFormat.ArmLpae48];

    [Fact]
    public void Random_guest_tables_with_loops_and_tables_outside_ram_never_throw()
    {
        Case.Sample(c =>
        {
            var memory = new PhysicalMemory();
            memory.AddBacking(IovaRange.FromStartSize(0, RamPages * P));
            foreach ((int page, int index, ulong value) in c.Writes)
            {
                memory.WriteUInt64((ulong)page * P + (ulong)index * 8, value);
            }

            PageTableFormat format = Formats[c.Format];
            PageTranslation t = IoPageTable.TranslateAt(format, memory, c.Root, c.Iova);
            Assert.True(Enum.IsDefined(t.Status), t.ToString());
            if (t.IsPresent)
            {
                Assert.True(t.LeafSize is PageSizes.Size4K or PageSizes.Size2M or PageSizes.Size1G, t.ToString());
                Assert.InRange(t.Level, 1, 5);
            }
        }, iter: 20_000, seed: "3mQ8bWq0Yk71");
    }

    [Fact]
    public void Self_referencing_guest_table_walk_ends_after_the_level_count()
    {
        // Every entry of the root points back at the root: each level reads the same page again. The walk must stop
        // after the format's levels with a status, not loop.
        foreach (PageTableFormat format in Formats)
        {
            var memory = new PhysicalMemory();
            memory.AddBacking(IovaRange.FromStartSize(0, P));
            for (int i = 0; i < 512; i++)
            {
                memory.WriteUInt64((ulong)i * 8, format == PageTableFormat.ArmLpae48 ? 0b11UL : 0b11UL); // R|W (x86) / table|valid (ARM), pa 0
            }

            foreach (ulong iova in Iovas)
            {
                PageTranslation t = IoPageTable.TranslateAt(format, memory, 0, iova);
                Assert.True(Enum.IsDefined(t.Status), $"{format} 0x{iova:x}: {t}");
            }
        }
    }

    [Fact]
    public void Guest_root_outside_ram_is_table_unreadable_not_an_exception()
    {
        var memory = new PhysicalMemory();
        memory.AddBacking(IovaRange.FromStartSize(0, P));
        foreach (PageTableFormat format in Formats)
        {
            PageTranslation t = IoPageTable.TranslateAt(format, memory, 0x10_0000, 0);
            Assert.Equal(PageWalkStatus.TableUnreadable, t.Status);
            t = IoPageTable.TranslateAt(format, memory, ulong.MaxValue, ulong.MaxValue);
            Assert.False(t.IsPresent);
        }
    }

    [Fact]
    public void Visit_over_corrupted_tables_with_loops_terminates_and_never_throws()
    {
        Gen.Select(Gen.Int[0, 2], Entry.Array[1, 32], Gen.Int[0, 511].Array[32]).Sample((f, values, indexes) =>
        {
            PageTableFormat format = Formats[f];
            var memory = new PhysicalMemory();
            var frames = new FrameAllocator(memory);
            IoPageTable table = IoPageTable.Create(format, frames);
            table.Map(IovaRange.FromStartSize(0, 0x40_0000), 0x100_0000_0000, Permissions.ReadWrite);
            table.Map(IovaRange.FromStartSize(0x4000_0000, P), 0x100_0010_0000, Permissions.Read);
            List<ulong> tables = [];
            var collector = new TableCollector(tables);
            table.Visit(IovaRange.Full, ref collector);

            // Overwrite entries with garbage and with pointers to the other table pages (loops).
            for (int i = 0; i < values.Length; i++)
            {
                ulong tablePa = tables[i % tables.Count];
                ulong value = (i & 1) == 0 ? values[i] : tables[(i / 2) % tables.Count] | (values[i] & 0xfff);
                memory.WriteUInt64(tablePa + (ulong)indexes[i] * 8, value);
            }

            int leaves = 0;
            table.Visit(IovaRange.FromStartSize(0, 0x80_0000), _ => leaves++);
            table.Visit(IovaRange.FromStartSize(0x4000_0000, 0x20_0000), _ => leaves++);
            Assert.True(leaves <= 4 * 512, $"{leaves} leaves from two small ranges");
            foreach (ulong iova in Iovas)
            {
                _ = table.Translate(iova);
                _ = IoPageTable.TranslateAt(format, memory, table.RootPa, iova);
            }
        }, iter: 400, seed: "7VdQm1gKx0a2");
    }

    private struct TableCollector(List<ulong> tables) : IPageTableVisitor
    {
        public readonly void VisitTable(ulong tablePa, int level, ulong iovaBase) => tables.Add(tablePa);

        public readonly void VisitLeaf(in PageTableLeaf leaf)
        {
        }
    }
}
