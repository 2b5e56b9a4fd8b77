using CsCheck;
using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Tests.PageTables;

/// <summary>
/// Model-based check: random map / unmap sequences over a 2 GiB window, favouring 2M and 1G boundaries, compared
/// after every step with a naive dictionary of 4K pages. Fixed seed, so CI runs the same sequences every time.
/// </summary>
public abstract class PageTableModelTests
{
    private const ulong K4 = PageSizes.Size4K;
    private const ulong M2 = PageSizes.Size2M;
    private const ulong G1 = PageSizes.Size1G;
    private const ulong Window = 2 * G1;
    private const ulong PaBase = 0x40_0000_0000;

    protected abstract PageTableFormat Format { get; }

    private static readonly Gen<ulong> Position = Gen.Frequency(
        (2, Gen.Int[0, (int)(Window / G1) - 1].Select(k => (ulong)k * G1)),
        (6, Gen.Int[0, (int)(Window / M2) - 1].Select(k => (ulong)k * M2)),
        (2, Gen.Int[0, (int)(Window / K4) - 1].Select(k => (ulong)k * K4)));

    private static readonly Gen<long> Nudge = Gen.Frequency(
        (6, Gen.Const(0L)),
        (2, Gen.Const((long)K4)),
        (2, Gen.Const(-(long)K4)),
        (1, Gen.Int[1, 600].Select(n => n * (long)K4)));

    private static readonly Gen<ulong> Size = Gen.Frequency(
        (12, Gen.Int[1, 16].Select(n => (ulong)n * K4)),
        (10, Gen.Const(M2)),
        (4, Gen.Const(M2 + K4)),
        (4, Gen.Int[2, 5].Select(n => (ulong)n * M2)),
        (1, Gen.Const(G1)));

    // Most mappings keep pa congruent to iova modulo 1G so huge leaves get chosen; some break the alignment.
    private static readonly Gen<ulong> PaDelta = Gen.Frequency(
        (6, Gen.Const(0UL)),
        (2, Gen.Int[1, 8].Select(n => (ulong)n * G1)),
        (1, Gen.Const(K4)),
        (1, Gen.Int[1, 511].Select(n => (ulong)n * M2)));

    private static readonly Gen<Op> OneOp =
        Gen.Select(Gen.Int[0, 99], Position, Nudge, Size, PaDelta, Gen.Bool, (kind, pos, nudge, size, delta, readOnly) =>
        {
            // Clamp [pos + nudge, + size) into the window.
            long start = Math.Clamp((long)pos + nudge, 0, (long)(Window - size));
            ulong iova = (ulong)start;
            return new Op(kind < 55, iova, size, PaBase + iova + delta, readOnly ? Permissions.Read : Permissions.ReadWrite);
        });

    [Fact]
    public void Random_map_unmap_sequences_match_a_4K_page_model()
    {
        OneOp.Array[20, 80].Sample(Run, seed: "0N0XIzNsQ0O2", iter: 30, threads: 1);
    }

    private void Run(Op[] ops)
    {
        var table = IoPageTable.Create(Format, new FrameAllocator(new PhysicalMemory()));
        var model = new Dictionary<ulong, (ulong Pa, Permissions Permissions)>();
        foreach (Op op in ops)
        {
            IovaRange range = IovaRange.FromStartSize(op.Iova, op.Size);
            if (op.IsMap)
            {
                bool overlaps = false;
                for (ulong page = op.Iova; page <= range.Last; page += K4)
                {
                    if (model.ContainsKey(page))
                    {
                        overlaps = true;
                        break;
                    }
                }

                PageTableStatus status = table.TryMap(range, op.Pa, op.Permissions);
                Assert.Equal(overlaps ? PageTableStatus.AlreadyMapped : PageTableStatus.Ok, status);
                if (!overlaps)
                {
                    for (ulong offset = 0; offset < op.Size; offset += K4)
                    {
                        model[op.Iova + offset] = (op.Pa + offset, op.Permissions);
                    }
                }
            }
            else
            {
                ulong expected = 0;
                for (ulong page = op.Iova; page <= range.Last; page += K4)
                {
                    if (model.Remove(page))
                    {
                        expected += K4;
                    }
                }

                UnmapResult r = table.Unmap(range);
                Assert.Equal(PageTableStatus.Ok, r.Status);
                Assert.Equal((UInt128)expected, r.BytesUnmapped);
            }

            CheckTouched(table, model, op);
        }

        // Whole-table agreement: the visited leaves cover exactly the model's pages.
        UInt128 visited = 0;
        foreach (PageTableLeaf leaf in table.Leaves(IovaRange.Full))
        {
            visited += leaf.Size;
            Assert.Equal(model[leaf.Iova], (leaf.Pa, leaf.Permissions));
            ulong lastPage = leaf.Iova + leaf.Size - K4;
            Assert.Equal(model[lastPage], (leaf.Pa + leaf.Size - K4, leaf.Permissions));
        }

        Assert.Equal((UInt128)model.Count * K4, visited);

        // And emptying the window frees every table but the root.
        table.Unmap(IovaRange.FromStartSize(0, Window));
        Assert.Equal(1, table.TablePages);
        Assert.Equal(1, table.Frames.AllocatedFrames);
    }

    private static void CheckTouched(IoPageTable table, Dictionary<ulong, (ulong Pa, Permissions Permissions)> model, Op op)
    {
        // The pages around the op: every page of a small op; for a big one every page next to a 2M boundary plus
        // a stride sample (the whole-table comparison at the end of each sequence covers the rest).
        ulong first = op.Iova >= K4 ? op.Iova - K4 : 0;
        ulong last = Math.Min(op.Iova + op.Size, Window - K4);
        for (ulong page = first; page <= last; page += K4)
        {
            bool nearBoundary = ((page + K4) & (M2 - 1)) <= 2 * K4;
            if (op.Size <= 16 * K4 || nearBoundary || page == last || (page / K4) % 61 == 0)
            {
                CheckPage(table, model, page);
            }
        }
    }

    private static void CheckPage(IoPageTable table, Dictionary<ulong, (ulong Pa, Permissions Permissions)> model, ulong page)
    {
        // Plain comparisons, failing with a message only on a mismatch: this runs a few hundred thousand times.
        PageTranslation t = table.Translate(page);
        bool mapped = model.TryGetValue(page, out (ulong Pa, Permissions Permissions) expected);
        if (mapped != t.IsPresent || (mapped && (expected.Pa != t.Pa || expected.Permissions != t.Permissions)))
        {
            Assert.Fail($"page 0x{page:x}: model {(mapped ? $"0x{expected.Pa:x} {expected.Permissions}" : "unmapped")}, table {t}");
        }
    }

    private readonly record struct Op(bool IsMap, ulong Iova, ulong Size, ulong Pa, Permissions Permissions)
    {
        public override string ToString() =>
            $"{(IsMap ? "map" : "unmap")} 0x{Iova:x}+0x{Size:x}{(IsMap ? $" -> 0x{Pa:x} {Permissions}" : "")}";
    }
}

public sealed class X86SecondLevel4LevelModelTests : PageTableModelTests
{
    protected override PageTableFormat Format => PageTableFormat.X86SecondLevel4Level;
}

public sealed class X86SecondLevel5LevelModelTests : PageTableModelTests
{
    protected override PageTableFormat Format => PageTableFormat.X86SecondLevel5Level;
}

public sealed class ArmLpae48ModelTests : PageTableModelTests
{
    protected override PageTableFormat Format => PageTableFormat.ArmLpae48;
}
