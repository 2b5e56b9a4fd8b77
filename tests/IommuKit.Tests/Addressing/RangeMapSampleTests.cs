using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

/// <summary>
/// The top-level samples of <see cref="RangeMap{T}"/> (every 64th chunk's first key, searched before the chunk first
/// keys) stay in step through inserts, removes, splits, bulk removal and appends over hundreds of chunks, and lookups
/// agree with a sorted model.
/// </summary>
public sealed class RangeMapSampleTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Lookups_agree_with_a_model_while_chunks_come_and_go_across_many_samples(int seed)
    {
        var rng = new Random(seed);
        var map = new RangeMap<int>();
        var keys = new SortedSet<ulong>(); // the model: 4K entries by first address, with their values
        var values = new Dictionary<ulong, int>();
        const ulong Span = 1UL << 32;
        int maxChunks = 0;
        for (int op = 0; op < 150_000; op++)
        {
            int kind = rng.Next(100);
            if (kind < 60 || keys.Count < 1000)
            {
                // Mostly low addresses, every third near the top of the space (the last page included).
                ulong first = ((ulong)rng.NextInt64((long)(Span >> 12)) << 12) + (op % 3 == 0 ? ulong.MaxValue - Span + 1 : 0);
                bool free = !keys.Contains(first);
                Assert.Equal(free, map.TryAdd(IovaRange.FromStartSize(first, 0x1000), op));
                if (free)
                {
                    keys.Add(first);
                    values[first] = op;
                }
            }
            else if (kind < 90)
            {
                ulong from = (ulong)rng.NextInt64((long)(Span >> 12)) << 12;
                ulong first = keys.GetViewBetween(from, ulong.MaxValue).Min;
                Assert.True(map.Remove(IovaRange.FromStartSize(first, 0x1000)));
                keys.Remove(first);
                values.Remove(first);
            }
            else if (kind < 95)
            {
                ulong from = (ulong)rng.NextInt64((long)(Span >> 12)) << 12;
                var window = IovaRange.FromStartSize(from, (ulong)rng.Next(1, 4096) << 12);
                List<ulong> gone = [.. keys.GetViewBetween(window.First, window.Last)];
                Assert.Equal(gone.Count, map.RemoveOverlapping(window));
                foreach (ulong k in gone)
                {
                    keys.Remove(k);
                    values.Remove(k);
                }
            }
            else
            {
                ulong top = keys.Count == 0 ? 0 : keys.Max + 0xfff;
                if (top < ulong.MaxValue - 0x10_0000)
                {
                    ulong first = top + 1;
                    Assert.True(map.TryAddLast(IovaRange.FromStartSize(first, 0x1000), op));
                    keys.Add(first);
                    values[first] = op;
                }
            }

            maxChunks = Math.Max(maxChunks, map.ChunkCount);
            if (op % 997 == 0)
            {
                Assert.True(map.SamplesAreCurrent());
                for (int probe = 0; probe < 64; probe++)
                {
                    ulong a = probe % 2 == 0
                        ? keys.GetViewBetween((ulong)rng.NextInt64() & ~0xfffUL, ulong.MaxValue).Min + (ulong)rng.Next(0x1000)
                        : (ulong)rng.NextInt64();
                    SortedSet<ulong> below = keys.GetViewBetween(0, a);
                    bool expected = below.Count > 0 && below.Max + 0xfff >= a;
                    Assert.Equal(expected, map.TryFind(a, out RangeMapEntry<int> e));
                    if (expected)
                    {
                        Assert.Equal(below.Max, e.Range.First);
                        Assert.Equal(values[below.Max], e.Value);
                    }
                }
            }
        }

        Assert.True(maxChunks > 3 * 64, $"the test must cross several samples, had at most {maxChunks} chunks");
        Assert.True(map.SamplesAreCurrent());
        Assert.Equal(keys.Count, map.Count);
    }
}
