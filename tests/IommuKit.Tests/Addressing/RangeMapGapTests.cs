using CsCheck;
using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

/// <summary><see cref="RangeMap{T}.TryFindGap"/>: first-fit holes against a naive model, edges, and counted costs.</summary>
public class RangeMapGapTests
{
    private const ulong Top = ulong.MaxValue;

    private static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    // The reference: walk every entry, clip holes to the window, return the first with at least minSize addresses.
    private static IovaRange? NaiveGap(RangeMap<ulong> map, IovaRange window, ulong minSize)
    {
        UInt128 cursor = window.First;
        foreach (RangeMapEntry<ulong> e in map)
        {
            if (e.Range.Last < window.First)
            {
                continue;
            }

            if (e.Range.First > window.Last)
            {
                break;
            }

            if (e.Range.First > cursor)
            {
                var hole = R((ulong)cursor, e.Range.First - 1);
                if (hole.Size >= minSize)
                {
                    return hole;
                }
            }

            cursor = UInt128.Max(cursor, e.Range.End);
        }

        if (cursor <= window.Last)
        {
            var tail = R((ulong)cursor, window.Last);
            if (tail.Size >= minSize)
            {
                return tail;
            }
        }

        return null;
    }

    [Fact]
    public void Empty_map_gap_is_the_whole_window_even_the_full_space()
    {
        var map = new RangeMap<int>();
        Assert.True(map.TryFindGap(IovaRange.Full, Top, out IovaRange hole));
        Assert.Equal(IovaRange.Full, hole);
        Assert.True(map.TryFindGap(R(5, 5), 1, out hole));
        Assert.Equal(R(5, 5), hole);
        Assert.False(map.TryFindGap(R(5, 5), 2, out _));
    }

    [Fact]
    public void Holes_are_clipped_to_the_window_and_touching_entries_leave_no_hole()
    {
        var map = new RangeMap<int>();
        map.Add(R(0x1000, 0x1fff), 1);
        map.Add(R(0x2000, 0x2fff), 2); // touches: no hole between
        map.Add(R(0x5000, 0x5fff), 3);
        map.Add(R(Top - 0xfff, Top), 4);

        Assert.True(map.TryFindGap(R(0x1800, Top), 1, out IovaRange hole));
        Assert.Equal(R(0x3000, 0x4fff), hole);
        Assert.True(map.TryFindGap(R(0x1800, Top), 0x2001, out hole));
        Assert.Equal(R(0x6000, Top - 0x1000), hole);
        Assert.True(map.TryFindGap(R(0, 0x3fff), 1, out hole));
        Assert.Equal(R(0, 0xfff), hole);
        Assert.True(map.TryFindGap(R(0x1000, 0x3fff), 1, out hole));
        Assert.Equal(R(0x3000, 0x3fff), hole);
        Assert.False(map.TryFindGap(R(0x1000, 0x3fff), 0x1001, out _));
        Assert.False(map.TryFindGap(R(Top - 0xfff, Top), 1, out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.TryFindGap(IovaRange.Full, 0, out _));
    }

    [Fact]
    public void Model_gap_search_after_random_adds_and_removes_agrees_with_a_naive_walk()
    {
        Gen.Select(Gen.Int[0, 3], Gen.ULong[0, 6000], Gen.ULong[0, 64]).Array[1, 2500]
            .Sample(ops =>
            {
                var map = new RangeMap<ulong>();
                var present = new List<IovaRange>();
                foreach (var (kind, a, len) in ops)
                {
                    if (kind == 1 && present.Count > 0)
                    {
                        IovaRange victim = present[(int)(a % (ulong)present.Count)];
                        Assert.True(map.Remove(victim));
                        present.Remove(victim);
                    }
                    else if (kind == 3)
                    {
                        // A query between updates keeps the index live through splits and chunk removals.
                        ulong lo = a * 8;
                        IovaRange window = R(lo, len == 0 ? Top : lo + (len * 512));
                        ulong minSize = len + 1;
                        bool found = map.TryFindGap(window, minSize, out IovaRange hole);
                        IovaRange? expected = NaiveGap(map, window, minSize);
                        Assert.Equal(expected.HasValue, found);
                        if (found)
                        {
                            Assert.Equal(expected!.Value, hole);
                        }
                    }
                    else
                    {
                        ulong first = kind == 2 ? Top - (a * 8) : a * 8;
                        ulong last = first > Top - len ? Top : first + len;
                        if (map.TryAdd(R(first, last), first))
                        {
                            present.Add(R(first, last));
                        }
                    }
                }

                foreach (ulong minSize in new ulong[] { 1, 2, 8, 9, 40, 65, 1000, Top })
                {
                    bool found = map.TryFindGap(IovaRange.Full, minSize, out IovaRange hole);
                    IovaRange? expected = NaiveGap(map, IovaRange.Full, minSize);
                    Assert.Equal(expected.HasValue, found);
                    if (found)
                    {
                        Assert.Equal(expected!.Value, hole);
                    }
                }
            }, iter: 200, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Gap_search_at_1M_entries_skips_chunks_whose_largest_hole_is_too_small()
    {
        // 1M 4K entries every other page (4K holes), one 64K hole near the top: a search for 8K must not walk the map.
        var map = new RangeMap<int>();
        const int n = 1 << 20;
        for (int i = 0; i < n; i++)
        {
            ulong first = ((ulong)i << 13) + (i >= n - 10 ? 0x10000UL : 0);
            map.Add(IovaRange.FromStartSize(first, 0x1000), i);
        }

        Assert.True(map.TryFindGap(IovaRange.Full, 0x1000, out IovaRange hole)); // builds the index
        Assert.Equal(R(0x1000, 0x1fff), hole);

        // Chunks <= 2n/128 = 16384: tree height 14, so at most 2 x 15 tree nodes, two chunk scans (128 each) and the
        // floor search (23) per call.
        const int bound = (2 * 15) + (2 * RangeMap<int>.ChunkCapacity) + 23 + 2;
        map.ResetCounters();
        Assert.True(map.TryFindGap(IovaRange.Full, 0x2000, out hole));
        ulong last10 = (ulong)(n - 11) << 13;
        Assert.Equal(R(last10 + 0x1000, last10 + 0x2000 + 0x10000 - 1), hole);
        Assert.InRange(map.NodesVisited, 1, bound);

        // Still logarithmic after an update in the middle (the index is maintained, not rebuilt by a walk).
        Assert.True(map.Remove(IovaRange.FromStartSize((ulong)1000 << 13, 0x1000)));
        map.ResetCounters();
        Assert.True(map.TryFindGap(IovaRange.Full, 0x2000, out hole));
        Assert.Equal(R(((ulong)999 << 13) + 0x1000, ((ulong)1001 << 13) - 1), hole);
        Assert.InRange(map.NodesVisited, 1, bound);

        // Nothing large enough anywhere below the top entry: the answer is the tail, still found without a walk.
        map.ResetCounters();
        Assert.True(map.TryFindGap(IovaRange.Full, 0x20000, out hole));
        Assert.Equal(Top, hole.Last);
        Assert.InRange(map.NodesVisited, 1, bound);
    }
}
