using CsCheck;
using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

/// <summary><see cref="ReverseRangeIndex"/>: host address to IOVA, lowest IOVA among aliases, counted cost.</summary>
public class ReverseRangeIndexTests
{
    private const ulong Top = ulong.MaxValue;

    private static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    [Fact]
    public void Lookup_translates_the_offset_inside_the_mapping_up_to_the_last_host_byte()
    {
        var index = new ReverseRangeIndex();
        index.Add(R(0x7f00_0000_0000, 0x7f00_0000_ffff), 0x10000);
        index.Add(R(Top - 0xfff, Top), 0);
        Assert.True(index.TryFind(0x7f00_0000_1234, out ulong iova));
        Assert.Equal(0x11234UL, iova);
        Assert.True(index.TryFind(Top, out iova));
        Assert.Equal(0xfffUL, iova);
        Assert.False(index.TryFind(0x7f00_0001_0000, out _));
        Assert.False(index.TryFind(0, out _));
    }

    // QEMU iova_tree_find_iova walks in IOVA order and returns the first mapping covering the address: the lowest IOVA.
    [Fact]
    public void Aliased_host_ranges_answer_the_lowest_iova_and_survive_removal_of_either()
    {
        var index = new ReverseRangeIndex();
        index.Add(R(0x1000, 0x4fff), 0x90000);
        index.Add(R(0x2000, 0x2fff), 0x30000); // overlaps: kept as an alias
        Assert.Equal(1, index.AliasCount);
        Assert.True(index.TryFind(0x2800, out ulong iova));
        Assert.Equal(0x30800UL, iova);
        Assert.True(index.TryFind(0x3800, out iova));
        Assert.Equal(0x92800UL, iova);

        Assert.True(index.Remove(R(0x1000, 0x4fff), 0x90000)); // the alias moves into the map
        Assert.Equal(0, index.AliasCount);
        Assert.False(index.TryFind(0x3800, out _));
        Assert.True(index.TryFind(0x2800, out iova));
        Assert.Equal(0x30800UL, iova);
        Assert.False(index.Remove(R(0x1000, 0x4fff), 0x90000));
        Assert.True(index.Remove(R(0x2000, 0x2fff), 0x30000));
        Assert.Equal(0, index.Count);
    }

    [Fact]
    public void Model_random_adds_removes_and_lookups_agree_with_a_walk_in_iova_order()
    {
        Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 300], Gen.ULong[1, 16]).Array[1, 400]
            .Sample(ops =>
            {
                var index = new ReverseRangeIndex();
                var model = new List<(IovaRange Host, ulong Iova)>();
                ulong nextIova = 0x100_0000;
                foreach (var (kind, a, pages) in ops)
                {
                    if (kind == 1 && model.Count > 0)
                    {
                        var victim = model[(int)(a % (ulong)model.Count)];
                        Assert.True(index.Remove(victim.Host, victim.Iova));
                        model.Remove(victim);
                    }
                    else if (kind == 0)
                    {
                        // Distinct, ascending-then-wrapping IOVAs; host ranges overlap freely.
                        var host = IovaRange.FromStartSize(a * 0x1000, pages * 0x1000);
                        ulong iova = (a * 7919 % 301) * 0x10_0000 + nextIova;
                        nextIova += 0x1000;
                        index.Add(host, iova);
                        model.Add((host, iova));
                    }

                    ulong probe = (a * 0x1000) + 0x123;
                    var covering = model.Where(m => m.Host.Contains(probe)).OrderBy(m => m.Iova).ToList();
                    Assert.Equal(covering.Count > 0, index.TryFind(probe, out ulong got));
                    if (covering.Count > 0)
                    {
                        Assert.Equal(covering[0].Iova + (probe - covering[0].Host.First), got);
                    }
                }

                Assert.Equal(model.Count, index.Count);
            }, iter: 200, seed: "0N0XIzNsQ0O2");
    }

    // Issue 6: reverse lookup at 1M mappings is a RangeMap lookup, not a walk (QEMU's iova-tree walks all of them).
    [Fact]
    public void Lookup_at_1M_disjoint_mappings_visits_at_most_a_range_map_lookups_nodes()
    {
        var index = new ReverseRangeIndex();
        const int n = 1 << 20;
        for (int i = 0; i < n; i++)
        {
            index.Add(IovaRange.FromStartSize(0x7f00_0000_0000 + ((ulong)i << 12), 0x1000), (ulong)(n - i) << 13);
        }

        var rng = new Random(5);
        for (int k = 0; k < 1000; k++)
        {
            int i = rng.Next(n);
            index.ResetCounters();
            Assert.True(index.TryFind(0x7f00_0000_0000 + ((ulong)i << 12) + 0x42, out ulong iova));
            Assert.Equal(((ulong)(n - i) << 13) + 0x42, iova);
            Assert.InRange(index.NodesVisited, 1, 14 + 7 + 2);
        }
    }
}
