using CsCheck;
using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

public class RangeMapTests
{
    private const ulong Top = ulong.MaxValue;

    private static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    [Fact]
    public void Entries_are_kept_one_per_add_never_merged()
    {
        var map = new RangeMap<int>();
        Assert.True(map.TryAdd(R(0x1000, 0x1fff), 1));
        Assert.True(map.TryAdd(R(0x2000, 0x2fff), 2));
        Assert.Equal(2, map.Count);
        Assert.Equal([R(0x1000, 0x1fff), R(0x2000, 0x2fff)], map.Overlapping(IovaRange.Full).ToList().Select(e => e.Range));
    }

    [Fact]
    public void Overlap_of_any_byte_is_refused_and_changes_nothing()
    {
        var map = new RangeMap<int>();
        map.Add(R(0x1000, 0x1fff), 1);
        Assert.False(map.TryAdd(R(0x1fff, 0x1fff), 2));
        Assert.False(map.TryAdd(R(0, 0x1000), 2));
        Assert.False(map.TryAdd(IovaRange.Full, 2));
        Assert.Single(map.Overlapping(IovaRange.Full).ToList());
        Assert.Throws<InvalidOperationException>(() => map.Add(R(0x1800, 0x2800), 3));
    }

    [Fact]
    public void Top_of_the_space_and_full_space_entries_are_ordinary()
    {
        var map = new RangeMap<string>();
        map.Add(R(0xffff_ffff_ffff_f000, Top), "top");
        Assert.True(map.TryFind(Top, out var e));
        Assert.Equal("top", e.Value);
        Assert.True(map.Overlaps(R(Top, Top)));
        Assert.True(map.Remove(R(0xffff_ffff_ffff_f000, Top)));
        Assert.Equal(0, map.Count);

        map.Add(IovaRange.Full, "all");
        Assert.True(map.TryFind(0, out e));
        Assert.True(map.TryFind(Top, out e));
        Assert.False(map.TryAdd(R(0, 0), "x"));
    }

    [Fact]
    public void Remove_needs_the_exact_range()
    {
        var map = new RangeMap<int>();
        map.Add(R(0x1000, 0x2fff), 1);
        Assert.False(map.Remove(R(0x1000, 0x1fff)));
        Assert.False(map.Remove(R(0x2000, 0x2fff)));
        Assert.True(map.Remove(R(0x1000, 0x2fff)));
        Assert.False(map.Remove(R(0x1000, 0x2fff)));
    }

    [Fact]
    public void Overlapping_enumerates_ascending_from_the_first_touching_entry()
    {
        var map = new RangeMap<int>();
        for (int i = 0; i < 1000; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i * 0x10000, 0x1000), i);
        }

        var hits = map.Overlapping(R(0x10fff, 0x30000)).ToList();
        Assert.Equal([1, 2, 3], hits.Select(h => h.Value));
        Assert.True(map.TryGetFirstOverlapping(R(0x11000, Top), out var first));
        Assert.Equal(2, first.Value);
        Assert.Equal([999], map.From(999UL * 0x10000).ToList().Select(h => h.Value));
        Assert.Equal([999], map.From(998UL * 0x10000 + 1).ToList().Select(h => h.Value));
    }

    [Fact]
    public void Lookup_cost_grows_with_log_of_entries_not_with_the_span()
    {
        // 100,000 entries spread over the whole 2^64 space: a lookup visits O(log n) entries.
        var map = new RangeMap<int>();
        const int n = 100_000;
        ulong stride = Top / n;
        for (int i = 0; i < n; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i * stride, 0x1000), i);
        }

        map.ResetCounters();
        Assert.True(map.TryFind((ulong)54321 * stride + 5, out var e));
        Assert.Equal(54321, e.Value);
        // log2(100000 / 128) + log2(128) ~ 10 + 7 = 17 entries compared.
        Assert.InRange(map.NodesVisited, 1, 20);
    }

    [Fact]
    public void Model_random_adds_and_removes_agree_with_a_sorted_list()
    {
        Gen.Select(Gen.Int[0, 2], Gen.ULong[0, 4000], Gen.ULong[0, 40]).Array[1, 3000]
            .Sample(ops =>
            {
                var map = new RangeMap<ulong>();
                var model = new List<(ulong First, ulong Last)>();
                foreach (var (kind, a, len) in ops)
                {
                    ulong first = kind == 2 ? Top - a : a * 16;
                    ulong last = first > Top - len ? Top : first + len;
                    IovaRange r = R(first, last);
                    if (kind == 1 && model.Count > 0)
                    {
                        var victim = model[(int)(a % (ulong)model.Count)];
                        Assert.True(map.Remove(R(victim.First, victim.Last)));
                        model.Remove(victim);
                    }
                    else
                    {
                        bool overlaps = model.Any(m => m.First <= last && m.Last >= first);
                        Assert.Equal(!overlaps, map.TryAdd(r, first));
                        if (!overlaps)
                        {
                            model.Add((first, last));
                        }
                    }
                }

                model.Sort();
                Assert.Equal(model.Count, map.Count);
                Assert.Equal(model, map.Overlapping(IovaRange.Full).ToList().Select(e => (e.Range.First, e.Range.Last)));
                foreach (var m in model)
                {
                    Assert.True(map.TryFind(m.Last, out var f));
                    Assert.Equal(m.First, f.Value);
                }
            }, iter: 200, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void A_map_going_from_empty_to_one_entry_and_back_allocates_nothing_once_warm()
    {
        // A container mapping and unmapping one page over and over (the type1 round trip) must not allocate a fresh
        // chunk each time the map becomes non-empty: the emptied chunk is kept and reused.
        var map = new RangeMap<int>();
        IovaRange page = IovaRange.FromStartSize(0x1_0000_0000, 0x1000);
        map.Add(page, 1);
        Assert.True(map.Remove(page));
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            map.Add(page, i);
            Assert.True(map.TryFind(0x1_0000_0fff, out RangeMapEntry<int> e) && e.Value == i);
            Assert.True(map.Remove(page));
            Assert.False(map.TryFind(0x1_0000_0000, out _));
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(0, map.Count);
    }

    // Clear keeps one emptied chunk (as removing the last entry does), so a container emptied by unmap-all maps its next
    // record without allocating; the cleared map is empty and takes entries anywhere again.
    [Fact]
    public void Clear_keeps_a_chunk_so_the_next_add_allocates_nothing()
    {
        var map = new RangeMap<int>();
        for (int i = 0; i < 1000; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i << 12, 0x1000), i);
        }

        map.Clear();
        Assert.Equal(0, map.Count);
        Assert.False(map.TryFind(0, out _));
        long before = GC.GetAllocatedBytesForCurrentThread();
        bool added = map.TryAdd(IovaRange.FromFirstLast(0xffff_ffff_ffff_f000, ulong.MaxValue), 7);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(added);
        Assert.Equal(0, allocated);
        Assert.True(map.TryFind(ulong.MaxValue, out RangeMapEntry<int> e));
        Assert.Equal(7, e.Value);
        Assert.Equal(1, map.Count);
    }
}
