using CsCheck;
using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

/// <summary>RangeMap's bulk members: RemoveOverlapping and TryAddLast, and the chunk pool between them.</summary>
public class RangeMapBulkTests
{
    private const ulong Top = ulong.MaxValue;

    private static IovaRange R(ulong first, ulong last) => IovaRange.FromFirstLast(first, last);

    private static List<(IovaRange Range, int Value)> Entries(RangeMap<int> map) =>
        map.Overlapping(IovaRange.Full).ToList().Select(e => (e.Range, e.Value)).ToList();

    [Fact]
    public void RemoveOverlapping_removes_partly_overlapping_entries_whole_and_keeps_the_rest()
    {
        var map = new RangeMap<int>();
        map.Add(R(0x0000, 0x0fff), 0);
        map.Add(R(0x1000, 0x2fff), 1);
        map.Add(R(0x4000, 0x4fff), 2);
        map.Add(R(0x5000, 0x6fff), 3);
        map.Add(R(0x8000, 0x8fff), 4);

        Assert.Equal(3, map.RemoveOverlapping(R(0x2fff, 0x5000))); // touches the last byte of 1 and the first of 3

        Assert.Equal([(R(0, 0xfff), 0), (R(0x8000, 0x8fff), 4)], Entries(map));
        Assert.Equal(2, map.Count);
        Assert.Equal(0, map.RemoveOverlapping(R(0x1000, 0x7fff))); // a hole: nothing
        Assert.Equal(2, map.Count);
    }

    [Fact]
    public void RemoveOverlapping_of_the_full_space_empties_a_map_of_many_chunks_including_the_top_address()
    {
        var map = new RangeMap<int>();
        int n = (RangeMap<int>.ChunkCapacity * 5) + 3;
        for (int i = 0; i < n - 1; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i << 12, 0x1000), i);
        }

        map.Add(R(0xffff_ffff_ffff_f000, Top), -1);

        Assert.Equal(n, map.RemoveOverlapping(IovaRange.Full));
        Assert.Equal(0, map.Count);
        Assert.False(map.TryGetFirst(out _));
        Assert.False(map.Overlaps(IovaRange.Full));
        Assert.True(map.TryAdd(R(Top, Top), 7)); // still usable
        Assert.Equal([(R(Top, Top), 7)], Entries(map));
    }

    [Fact]
    public void TryAddLast_appends_only_above_every_entry_and_changes_nothing_otherwise()
    {
        var map = new RangeMap<int>();
        Assert.True(map.TryAddLast(R(0x1000, 0x1fff), 1)); // empty map: anything is last
        Assert.False(map.TryAddLast(R(0x1fff, 0x2fff), 2)); // overlaps the last byte
        Assert.False(map.TryAddLast(R(0, 0xfff), 2)); // below: not an append, even though it does not overlap
        Assert.True(map.TryAddLast(R(0x2000, 0x2fff), 2)); // adjacent: kept as its own entry
        Assert.True(map.TryAddLast(R(Top, Top), 3));
        Assert.False(map.TryAddLast(R(Top, Top), 4));
        Assert.Equal([(R(0x1000, 0x1fff), 1), (R(0x2000, 0x2fff), 2), (R(Top, Top), 3)], Entries(map));
    }

    [Fact]
    public void Emptying_with_RemoveOverlapping_and_refilling_with_TryAddLast_allocates_nothing_once_warm()
    {
        var map = new RangeMap<long>();
        const int n = 10_000;
        void Refill()
        {
            map.RemoveOverlapping(IovaRange.Full);
            for (int i = 0; i < n; i++)
            {
                Assert.True(map.TryAddLast(IovaRange.FromStartSize((ulong)i << 15, 0x1000), i));
            }
        }

        Refill();
        Refill();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Refill();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(n, map.Count);
        Assert.True(map.TryFind((ulong)(n - 1) << 15, out RangeMapEntry<long> last));
        Assert.Equal(n - 1, last.Value);
    }

    [Fact]
    public void Bulk_members_agree_with_one_by_one_removal_and_insertion_and_keep_the_gap_index_right()
    {
        int maxCount = 0;

        // ops: half Add, a fifth TryAddLast, a tenth RemoveOverlapping, a fifth TryFindGap (builds and checks the gap index).
        Gen.Select(Gen.Int[0, 9], Gen.ULong[0, 3000], Gen.ULong[0, 400]).Array[1, 3000]
            .Sample(ops =>
            {
                var map = new RangeMap<int>();
                var model = new SortedDictionary<ulong, (ulong Last, int Value)>();
                int v = 0;
                foreach ((int k, ulong a, ulong len) in ops)
                {
                    int kind = k <= 4 ? 0 : k <= 6 ? 1 : k == 7 ? 2 : 3;
                    // Mostly tiny entries (so the map spans many chunks), now and then a wide range (removing many chunks).
                    IovaRange range = R(a << 4, (a << 4) + (len < 390 ? len % 8 : (len - 389) << 11));
                    bool overlaps = model.Any(e => e.Key <= range.Last && e.Value.Last >= range.First);
                    switch (kind)
                    {
                        case 0:
                            Assert.Equal(!overlaps, map.TryAdd(range, v));
                            if (!overlaps)
                            {
                                model[range.First] = (range.Last, v);
                            }

                            break;
                        case 1:
                            bool last = model.Count == 0 || model.Last().Value.Last < range.First;
                            Assert.Equal(last, map.TryAddLast(range, v));
                            if (last)
                            {
                                model[range.First] = (range.Last, v);
                            }

                            break;
                        case 2:
                            var gone = model.Where(e => e.Key <= range.Last && e.Value.Last >= range.First).Select(e => e.Key).ToList();
                            Assert.Equal(gone.Count, map.RemoveOverlapping(range));
                            gone.ForEach(k => model.Remove(k));
                            break;
                        default:
                            ulong min = len + 1;
                            bool found = map.TryFindGap(R(0, 50_000), min, out IovaRange hole);
                            ulong cur = 0;
                            IovaRange? expected = null;
                            foreach ((ulong f, (ulong l, _)) in model)
                            {
                                if (f > 50_000)
                                {
                                    break;
                                }

                                if (f > cur && f - cur >= min)
                                {
                                    expected = R(cur, f - 1);
                                    break;
                                }

                                cur = Math.Max(cur, l + 1);
                            }

                            if (expected is null && cur <= 50_000 && 50_000 - cur + 1 >= min)
                            {
                                expected = R(cur, 50_000);
                            }

                            Assert.Equal(expected is not null, found);
                            if (found)
                            {
                                Assert.Equal(expected!.Value, hole);
                            }

                            break;
                    }

                    v++;
                }

                maxCount = Math.Max(maxCount, map.Count);
                Assert.Equal(model.Count, map.Count);
                Assert.Equal(model.Select(e => (R(e.Key, e.Value.Last), e.Value.Value)), Entries(map));
                foreach ((ulong f, (ulong l, int value)) in model)
                {
                    Assert.True(map.TryFind(l, out RangeMapEntry<int> hit));
                    Assert.Equal(value, hit.Value);
                    Assert.Equal(R(f, l), hit.Range);
                }
            }, iter: 100);
        Assert.True(maxCount > 3 * RangeMap<int>.ChunkCapacity, $"at most {maxCount} entries: the sample never spans many chunks");
    }
}
