using IommuKit.Addressing;

namespace IommuKit.Tests.Addressing;

/// <summary>Scaling proofs for <see cref="RangeMap{T}"/> at a million entries (issue 6): nodes counted, not timed.</summary>
public class RangeMapScalingTests
{
    [Fact]
    public void Lookup_at_1M_entries_visits_at_most_log2_chunks_plus_log2_chunk_capacity_nodes()
    {
        var map = new RangeMap<int>();
        const int n = 1 << 20;
        for (int i = 0; i < n; i++)
        {
            map.Add(IovaRange.FromStartSize((ulong)i << 13, 0x1000), i); // every other page
        }

        // Chunks are at least half full after splits: <= 2n / 128 chunks. ceil(log2(16384)) + ceil(log2(128)) + 2.
        const int bound = 14 + 7 + 2;
        var rng = new Random(61);
        for (int k = 0; k < 1000; k++)
        {
            int i = rng.Next(n);
            map.ResetCounters();
            Assert.True(map.TryFind(((ulong)i << 13) + 0x123, out RangeMapEntry<int> e));
            Assert.Equal(i, e.Value);
            Assert.InRange(map.NodesVisited, 1, bound);

            // A hole lookup costs the same.
            map.ResetCounters();
            Assert.False(map.TryFind(((ulong)i << 13) + 0x1000, out _));
            Assert.InRange(map.NodesVisited, 1, bound);
        }
    }
}
