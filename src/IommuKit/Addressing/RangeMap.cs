using System.Collections;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace IommuKit.Addressing;

/// <summary>
/// An ordered map of disjoint inclusive ranges to values: the record store behind containers (type1 <c>dma_list</c>,
/// iommufd areas and reserved ranges), notifier dedupe trees and the like.
/// </summary>
/// <remarks>
/// <para>Invariants: entries are sorted by <see cref="IovaRange.First"/> and never overlap; adjacent entries are never
/// merged (one record per insert, as the kernel keeps one <c>vfio_dma</c> per MAP).</para>
/// <para>Layout (a two-level B+-tree): an array of chunks, each a sorted array of up to <see cref="ChunkCapacity"/>
/// entries, and beside it a contiguous <see cref="ulong"/> array of every chunk's first key (<c>_chunkFirsts[i] ==
/// _chunks[i].Firsts[0]</c>, kept in step on every insert or removal at slot 0, split and chunk removal), with every
/// 64th of those keys sampled into a small array kept in step the same way. A lookup is a branch-free binary search
/// over the samples (L1-resident), then over the 64 chunk first keys after the sample found, then over the chunk's line
/// summary (the first key of each cache line of its keys, stored inline in the chunk object), then inside that single
/// line, with the lines of the entry's last key and value prefetched meanwhile: O(log n), no allocation, no interface
/// dispatch, and few cache lines touched. Insert and remove move at most one chunk's entries plus the chunk arrays, so
/// costs grow with the number of entries, never with the span of the address space. Ranges may end at 2^64-1; nothing here computes an exclusive
/// end in 64 bits.</para>
/// <para>Gap index (built on the first <see cref="TryFindGap"/>, maintained from then on): each chunk keeps the largest
/// hole between two of its consecutive entries, and a max segment tree over the chunks holds, per chunk, the larger of
/// that and the hole before the chunk's first entry. A first-fit gap search skips every chunk whose largest hole is too
/// small by descending that tree: O(log n + chunk capacity) per hole returned, never a walk over all entries.</para>
/// <para>Not thread-safe; owners serialise writers.</para>
/// </remarks>
/// <typeparam name="T">The value stored with each range.</typeparam>
public sealed partial class RangeMap<T> : IEnumerable<RangeMapEntry<T>>
{
    /// <summary>The most entries one chunk holds before it splits.</summary>
    public const int ChunkCapacity = 128;

    private Chunk[] _chunks = [];
    private ulong[] _chunkFirsts = [];

    // Every SampleStride-th chunk first key (_samples[k] == _chunkFirsts[k * SampleStride]), kept in step with
    // _chunkFirsts: the top-level search runs over this small array (L1-resident up to 16K chunks) and then over one
    // run of SampleStride keys, instead of a binary search over all of _chunkFirsts (one L2 access per step).
    private ulong[] _samples = [];
    private int _chunkCount;
    private int _count;
    private Chunk? _spare; // the last chunk that emptied, kept so a map going 0 -> 1 -> 0 entries allocates nothing
    private long _version;

    // The gap index: a max segment tree over chunk gap keys, leaves at [_gapLeaves, 2 * _gapLeaves); null until the
    // first gap search. _gapDirtyFrom is the lowest chunk whose leaf is stale (int.MaxValue: none).
    private ulong[]? _gapTree;
    private int _gapLeaves;
    private int _gapDirtyFrom = int.MaxValue;

    /// <summary>The number of entries.</summary>
    public int Count => _count;

    /// <summary>Entries and index nodes visited by lookups and gap searches since creation or <see cref="ResetCounters"/>
    /// (for scaling tests).</summary>
    public long NodesVisited { get; private set; }

    /// <summary>Resets <see cref="NodesVisited"/>.</summary>
    public void ResetCounters() => NodesVisited = 0;

    /// <summary>The lowest entry, if any.</summary>
    public bool TryGetFirst(out RangeMapEntry<T> entry)
    {
        if (_count == 0)
        {
            entry = default;
            return false;
        }

        entry = _chunks[0].Get(0);
        return true;
    }

    /// <summary>The highest entry, if any.</summary>
    public bool TryGetLast(out RangeMapEntry<T> entry)
    {
        if (_count == 0)
        {
            entry = default;
            return false;
        }

        Chunk last = _chunks[_chunkCount - 1];
        entry = last.Get(last.Count - 1);
        return true;
    }

    /// <summary>Adds <paramref name="range"/> unless it overlaps an existing entry; false (nothing changed) otherwise.</summary>
    public bool TryAdd(IovaRange range, T value)
    {
        if (Overlaps(range))
        {
            return false;
        }

        InsertUnchecked(range, value);
        return true;
    }

    /// <summary>Adds <paramref name="range"/>; throws when it overlaps an existing entry.</summary>
    /// <exception cref="InvalidOperationException">The range overlaps an entry.</exception>
    public void Add(IovaRange range, T value)
    {
        if (!TryAdd(range, value))
        {
            ThrowHelper.ThrowInvalidOperation($"range {range} overlaps an existing entry");
        }
    }

    /// <summary>Adds <paramref name="range"/>, which the caller has just checked overlaps no entry (no second search).</summary>
    internal void AddDisjoint(IovaRange range, T value) => InsertUnchecked(range, value);

    /// <summary>Removes the entry whose range is exactly <paramref name="range"/>; false when there is none.</summary>
    public bool Remove(IovaRange range)
    {
        if (!TryLocate(range.First, out int ci, out int slot))
        {
            return false;
        }

        Chunk chunk = _chunks[ci];
        if (chunk.Firsts[slot] != range.First || chunk.Lasts[slot] != range.Last)
        {
            return false;
        }

        chunk.RemoveAt(slot);
        if (chunk.Count == 0)
        {
            RemoveChunkAt(ci);
        }
        else
        {
            if (slot == 0)
            {
                SetChunkFirst(ci, chunk.Firsts[0]);
            }

            ChunkChanged(ci);
        }

        _count--;
        _version++;
        return true;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear()
    {
        if (_chunkCount != 0)
        {
            // Keep the first chunk as the spare, emptied, so a map cleared and refilled allocates nothing.
            Chunk first = _chunks[0];
            if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
            {
                Array.Clear(first.Values, 0, first.Count);
            }

            first.Count = 0;
            first.GapValid = false;
            _spare = first;
        }

        Array.Clear(_chunks, 0, _chunkCount);
        _chunkCount = 0;
        _count = 0;
        _version++;
        _gapTree = null;
        _gapDirtyFrom = int.MaxValue;
    }

    /// <summary>Replaces the value of the entry whose range is exactly <paramref name="range"/>.</summary>
    public bool TrySetValue(IovaRange range, T value)
    {
        if (!TryLocate(range.First, out int ci, out int slot))
        {
            return false;
        }

        Chunk chunk = _chunks[ci];
        if (chunk.Lasts[slot] != range.Last)
        {
            return false;
        }

        chunk.Values[slot] = value;
        return true;
    }

    /// <summary>The entry containing <paramref name="address"/>, if any.</summary>
    public bool TryFind(ulong address, out RangeMapEntry<T> entry)
    {
        // The candidate is the last entry starting at or below address.
        if (FindFloor(address, out int ci, out int slot))
        {
            Chunk c = _chunks[ci];
            ulong last = c.Lasts[slot];
            if (last >= address)
            {
                entry = new RangeMapEntry<T>(IovaRange.FromFirstLast(c.Firsts[slot], last), c.Values[slot]);
                return true;
            }
        }

        entry = default;
        return false;
    }

    /// <summary>True when any entry shares an address with <paramref name="range"/>.</summary>
    public bool Overlaps(IovaRange range) => TryGetFirstOverlapping(range, out _);

    /// <summary>The lowest entry overlapping <paramref name="range"/>, if any.</summary>
    public bool TryGetFirstOverlapping(IovaRange range, out RangeMapEntry<T> entry)
    {
        Position p = FirstOverlappingPosition(range.First);
        if (p.Chunk < _chunkCount)
        {
            Chunk c = _chunks[p.Chunk];
            if (c.Firsts[p.Slot] <= range.Last)
            {
                entry = c.Get(p.Slot);
                return true;
            }
        }

        entry = default;
        return false;
    }

    /// <summary>
    /// The lowest hole (a maximal run of addresses no entry covers, clipped to <paramref name="window"/>) inside
    /// <paramref name="window"/> holding at least <paramref name="minSize"/> addresses; false when there is none.
    /// </summary>
    /// <remarks>
    /// First fit by address. To test holes with a stricter rule (alignment, say), call again with a window starting
    /// after the hole returned. Costs O(log n + <see cref="ChunkCapacity"/>) per call once the gap index exists (the
    /// first call builds it in O(n)): chunks whose largest hole is smaller than <paramref name="minSize"/> are skipped
    /// through the index without reading their entries.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="minSize"/> is 0.</exception>
    public bool TryFindGap(IovaRange window, ulong minSize, out IovaRange hole)
    {
        if (minSize == 0)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(minSize), "a hole holds at least one address; minSize must be >= 1");
        }

        hole = default;
        ulong lo = window.First;
        ulong hi = window.Last;
        ulong need = minSize - 1; // a hole [a, b] fits when b - a >= need (no size computed: it may be 2^64)

        Position p = FirstOverlappingPosition(lo);
        if (p.Chunk >= _chunkCount)
        {
            return Fits(lo, hi, need, out hole);
        }

        Chunk c = _chunks[p.Chunk];
        ulong first = c.Firsts[p.Slot];
        if (first > lo)
        {
            // The hole below the first entry reaching the window: [lo, first - 1], first > lo so no underflow.
            if (Fits(lo, Math.Min(first - 1, hi), need, out hole))
            {
                return true;
            }

            if (first > hi)
            {
                return false;
            }
        }

        // Every later hole sits between two consecutive entries: find the next one large enough.
        EnsureGapIndex();
        int ci = p.Chunk;
        int slot = p.Slot;
        while (true)
        {
            ulong prevLast;
            bool atEnd = !NextGapAtLeast(ref ci, ref slot, minSize, out prevLast);
            if (prevLast >= hi)
            {
                return false;
            }

            // prevLast < hi <= 2^64-1, so prevLast + 1 does not overflow.
            if (atEnd)
            {
                return Fits(prevLast + 1, hi, need, out hole);
            }

            ulong next = _chunks[ci].Firsts[slot];
            if (Fits(prevLast + 1, Math.Min(next - 1, hi), need, out hole))
            {
                return true;
            }

            if (next > hi)
            {
                return false;
            }
        }
    }

    /// <summary>The entries overlapping <paramref name="range"/>, ascending. Costs O(log n + k).</summary>
    /// <remarks>The map must not change while the result is enumerated; copy it first (for example with <c>ToList</c>) to modify.</remarks>
    public OverlapEnumerable Overlapping(IovaRange range) => new(this, range);

    /// <summary>The entries starting at or above <paramref name="address"/>, ascending.</summary>
    public OverlapEnumerable From(ulong address) =>
        new(this, IovaRange.FromFirstLast(address, ulong.MaxValue), startsAtOrAbove: true);

    /// <summary>Enumerates every entry in ascending order.</summary>
    public OverlapEnumerable.Enumerator GetEnumerator() => new OverlapEnumerable(this, IovaRange.Full).GetEnumerator();

    IEnumerator<RangeMapEntry<T>> IEnumerable<RangeMapEntry<T>>.GetEnumerator()
    {
        foreach (RangeMapEntry<T> e in this)
        {
            yield return e;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<RangeMapEntry<T>>)this).GetEnumerator();

    private static bool Fits(ulong first, ulong last, ulong need, out IovaRange hole)
    {
        if (last - first >= need)
        {
            hole = IovaRange.FromFirstLast(first, last);
            return true;
        }

        hole = default;
        return false;
    }

    private void InsertUnchecked(IovaRange range, T value)
    {
        _version++;
        _count++;
        if (_chunkCount == 0)
        {
            Chunk c = _spare ?? new Chunk();
            _spare = null;
            c.Insert(0, range, value);
            InsertChunkAt(0, c);
            return;
        }

        // Insert right after the floor entry (the last one starting below range.First), or at the very front.
        int ci, slot;
        if (FindFloor(range.First, out ci, out slot))
        {
            slot++;
        }
        else
        {
            ci = 0;
            slot = 0;
        }

        Chunk chunk = _chunks[ci];
        if (chunk.Count == ChunkCapacity)
        {
            Chunk upper = chunk.SplitUpperHalf();
            InsertChunkAt(ci + 1, upper);
            if (slot > chunk.Count)
            {
                slot -= chunk.Count;
                chunk = upper;
                ci++;
            }
        }

        chunk.Insert(slot, range, value);
        if (slot == 0)
        {
            SetChunkFirst(ci, range.First);
        }

        ChunkChanged(ci);
    }

    private void InsertChunkAt(int index, Chunk chunk)
    {
        if (_chunkCount == _chunks.Length)
        {
            int capacity = Math.Max(4, _chunks.Length * 2);
            Array.Resize(ref _chunks, capacity);
            Array.Resize(ref _chunkFirsts, capacity);
        }

        int move = _chunkCount - index;
        Array.Copy(_chunks, index, _chunks, index + 1, move);
        Array.Copy(_chunkFirsts, index, _chunkFirsts, index + 1, move);
        _chunks[index] = chunk;
        _chunkFirsts[index] = chunk.Firsts[0];
        _chunkCount++;
        RefreshSamples(index);

        // A split also changed the chunk below (its upper half left): refresh its leaf too.
        GapLeavesShifted(Math.Max(0, index - 1));
    }

    private void RemoveChunkAt(int index)
    {
        if (_chunks[index].Count == 0)
        {
            _spare = _chunks[index]; // emptied by RemoveAt, which clears the values it drops
        }

        int move = _chunkCount - index - 1;
        Array.Copy(_chunks, index + 1, _chunks, index, move);
        Array.Copy(_chunkFirsts, index + 1, _chunkFirsts, index, move);
        _chunkCount--;
        _chunks[_chunkCount] = null!;
        RefreshSamples(index);
        GapLeavesShifted(index);
    }

    // The last entry whose First <= address: (chunk, slot). False when every entry starts above address.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool FindFloor(ulong address, out int chunkIndex, out int slot)
    {
        int n = _chunkCount;
        if (n == 0 || _chunkFirsts[0] > address)
        {
            chunkIndex = 0;
            slot = -1;
            NodesVisited++;
            return false;
        }

        // Branch-free search for the last chunk whose first key <= address; _chunkFirsts[0] <= address holds. First
        // over the samples (_samples[0] == _chunkFirsts[0]), then over the SampleStride keys from the sample found.
        int steps = 1;
        ref ulong firsts = ref MemoryMarshal.GetArrayDataReference(_chunkFirsts);
        int basePos = 0;
        int len = n;
        if (n > SampleStride)
        {
            ref ulong samples = ref MemoryMarshal.GetArrayDataReference(_samples);
            int k = 0;
            int sampleLen = (n + SampleStride - 1) / SampleStride;
            while (sampleLen > 1)
            {
                int half = sampleLen >>> 1;
                k = Unsafe.Add(ref samples, k + half) <= address ? k + half : k;
                sampleLen -= half;
                steps++;
            }

            basePos = k * SampleStride;
            len = Math.Min(SampleStride, n - basePos);
        }

        while (len > 1)
        {
            int half = len >>> 1;
            basePos = Unsafe.Add(ref firsts, basePos + half) <= address ? basePos + half : basePos;
            len -= half;
            steps++;
        }

        // In the chunk: first its summary (every LineSlots-th first key, inline in the chunk object), then the one
        // cache line of first keys it points to, so a lookup reads 1 line of Firsts instead of log2(capacity).
        Chunk c = _chunks[basePos];
        ref ulong summary = ref Unsafe.As<LineSummary, ulong>(ref c.Summary);
        int line = 0;
        len = (c.Count + LineSlots - 1) / LineSlots; // >= 1 and summary[0] == Firsts[0] <= address
        while (len > 1)
        {
            int half = len >>> 1;
            line = Unsafe.Add(ref summary, line + half) <= address ? line + half : line;
            len -= half;
            steps++;
        }

        ref ulong keys = ref MemoryMarshal.GetArrayDataReference(c.Firsts);
        int s = line * LineSlots;
        PrefetchLine(c, s); // the entry's last key and value are in these lines: fetched while its first key is searched
        len = Math.Min(LineSlots, c.Count - s); // >= 1 and keys[s] <= address
        while (len > 1)
        {
            int half = len >>> 1;
            s = Unsafe.Add(ref keys, s + half) <= address ? s + half : s;
            len -= half;
            steps++;
        }

        NodesVisited += steps;
        chunkIndex = basePos;
        slot = s;
        return true;
    }

    // Asks the cache for the line of last keys and the line of values holding slot (line-aligned: LineSlots 8-byte
    // keys fill one 64-byte line), so the three lines of one entry load in parallel rather than one after the other.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchLine(Chunk c, int slot)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c.Lasts), slot)));
            Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(c.Values), slot)));
        }
    }

    /// <summary>The number of chunks (for tests of the layout).</summary>
    internal int ChunkCount => _chunkCount;

    /// <summary>True when every top-level sample equals the first key of its chunk (for tests).</summary>
    internal bool SamplesAreCurrent()
    {
        for (int k = 0; k * SampleStride < _chunkCount; k++)
        {
            if (_samples[k] != _chunkFirsts[k * SampleStride] || _chunkFirsts[k * SampleStride] != _chunks[k * SampleStride].Firsts[0])
            {
                return false;
            }
        }

        return true;
    }

    // Sets chunk ci's first key, and its sample when it has one.
    private void SetChunkFirst(int ci, ulong first)
    {
        _chunkFirsts[ci] = first;
        if (ci % SampleStride == 0)
        {
            _samples[ci / SampleStride] = first;
        }
    }

    // Re-takes the samples of chunks from index on (after chunks were inserted or removed at index).
    private void RefreshSamples(int index)
    {
        int count = (_chunkCount + SampleStride - 1) / SampleStride;
        if (_samples.Length < count)
        {
            Array.Resize(ref _samples, Math.Max(count, _samples.Length * 2));
        }

        for (int k = index / SampleStride; k < count; k++)
        {
            _samples[k] = _chunkFirsts[k * SampleStride];
        }
    }

    private bool TryLocate(ulong first, out int chunkIndex, out int slot) =>
        FindFloor(first, out chunkIndex, out slot) && _chunks[chunkIndex].Firsts[slot] == first;

    // The position of the lowest entry whose Last >= address (it overlaps [address, x] iff its First <= x).
    private Position FirstOverlappingPosition(ulong address)
    {
        if (FindFloor(address, out int ci, out int slot))
        {
            if (_chunks[ci].Lasts[slot] >= address)
            {
                return new Position(ci, slot);
            }

            return Next(new Position(ci, slot));
        }

        return new Position(0, 0);
    }

    private Position Next(Position p)
    {
        int slot = p.Slot + 1;
        if (slot < _chunks[p.Chunk].Count)
        {
            return new Position(p.Chunk, slot);
        }

        return new Position(p.Chunk + 1, 0);
    }

    // ---------------------------------------------------------------- gap index

    // From the entry at (ci, slot), moves to the next entry whose hole before it (from the previous entry's Last) holds
    // at least minSize addresses; prevLast is that previous entry's Last. False when there is none: (ci, slot) is then
    // past the last entry and prevLast is the last entry's Last.
    private bool NextGapAtLeast(ref int ci, ref int slot, ulong minSize, out ulong prevLast)
    {
        int at = ci;
        int s = slot + 1;
        long visited = 0;
        while (true)
        {
            Chunk c = _chunks[at];
            for (; s < c.Count; s++)
            {
                visited++;

                // Firsts[s] > Lasts[s - 1] (disjoint, sorted), so the difference is the hole size, at most 2^64-2.
                if (c.Firsts[s] - c.Lasts[s - 1] - 1 >= minSize)
                {
                    NodesVisited += visited;
                    ci = at;
                    slot = s;
                    prevLast = c.Lasts[s - 1];
                    return true;
                }
            }

            int next = FirstChunkWithGap(at + 1, minSize, ref visited);
            if (next < 0)
            {
                NodesVisited += visited;
                Chunk lastChunk = _chunks[_chunkCount - 1];
                prevLast = lastChunk.Lasts[lastChunk.Count - 1];
                ci = _chunkCount;
                slot = 0;
                return false;
            }

            // next >= at + 1 >= 1: the chunk before it exists. Its key says a hole >= minSize is before one of its entries.
            Chunk before = _chunks[next - 1];
            ulong beforeLast = before.Lasts[before.Count - 1];
            visited++;
            if (_chunks[next].Firsts[0] - beforeLast - 1 >= minSize)
            {
                NodesVisited += visited;
                ci = next;
                slot = 0;
                prevLast = beforeLast;
                return true;
            }

            at = next;
            s = 1;
        }
    }

    // The lowest chunk index >= from whose gap key >= minSize, or -1; descends the segment tree.
    private int FirstChunkWithGap(int from, ulong minSize, ref long visited)
    {
        if (from >= _chunkCount)
        {
            return -1;
        }

        ulong[] tree = _gapTree!;
        int i = from + _gapLeaves;
        while (true)
        {
            visited++;
            if (tree[i] >= minSize)
            {
                while (i < _gapLeaves)
                {
                    visited++;
                    i *= 2;
                    if (tree[i] < minSize)
                    {
                        i++;
                    }
                }

                return i - _gapLeaves;
            }

            // Climb while i is a right child, then step to the next subtree on the right.
            while ((i & 1) == 1)
            {
                i >>>= 1;
            }

            if (i == 0)
            {
                return -1;
            }

            i++;
        }
    }

    // The gap key of chunk ci: the largest hole before any of its entries (the first's from the previous chunk's last).
    private ulong GapKey(int ci)
    {
        Chunk c = _chunks[ci];
        if (!c.GapValid)
        {
            ulong max = 0;
            for (int s = 1; s < c.Count; s++)
            {
                max = Math.Max(max, c.Firsts[s] - c.Lasts[s - 1] - 1);
            }

            c.InnerMaxGap = max;
            c.GapValid = true;
        }

        if (ci == 0)
        {
            return c.InnerMaxGap;
        }

        Chunk before = _chunks[ci - 1];
        return Math.Max(c.InnerMaxGap, c.Firsts[0] - before.Lasts[before.Count - 1] - 1);
    }

    private void EnsureGapIndex()
    {
        if (_gapTree is null || _gapLeaves < _chunkCount)
        {
            int leaves = 1;
            while (leaves < Math.Max(_chunkCount, 1))
            {
                leaves *= 2;
            }

            _gapLeaves = leaves;
            _gapTree = new ulong[2 * leaves];
            _gapDirtyFrom = 0;
        }

        if (_gapDirtyFrom == int.MaxValue)
        {
            return;
        }

        // Leaves [dirty, end) are stale (chunks shifted or changed): refresh them and their ancestors.
        ulong[] tree = _gapTree;
        int from = _gapDirtyFrom;
        for (int ci = from; ci < _gapLeaves; ci++)
        {
            tree[_gapLeaves + ci] = ci < _chunkCount ? GapKey(ci) : 0;
        }

        int lo = (_gapLeaves + from) >>> 1;
        int hi = (2 * _gapLeaves - 1) >>> 1;
        while (lo >= 1)
        {
            for (int i = lo; i <= hi; i++)
            {
                tree[i] = Math.Max(tree[2 * i], tree[(2 * i) + 1]);
            }

            lo >>>= 1;
            hi >>>= 1;
        }

        _gapDirtyFrom = int.MaxValue;
    }

    // Chunk ci's entries changed: its inner gap and the lead gaps of ci and ci + 1 may differ.
    private void ChunkChanged(int ci)
    {
        _chunks[ci].GapValid = false;
        if (_gapTree is null || _gapDirtyFrom <= ci)
        {
            return;
        }

        UpdateGapLeaf(ci);
        if (ci + 1 < _chunkCount)
        {
            UpdateGapLeaf(ci + 1);
        }
    }

    private void UpdateGapLeaf(int ci)
    {
        if (ci >= _gapDirtyFrom)
        {
            return;
        }

        ulong[] tree = _gapTree!;
        int i = _gapLeaves + ci;
        tree[i] = GapKey(ci);
        for (i >>>= 1; i >= 1; i >>>= 1)
        {
            tree[i] = Math.Max(tree[2 * i], tree[(2 * i) + 1]);
        }
    }

    // Chunks from index on moved (a chunk was inserted or removed there): their leaves are refreshed lazily.
    private void GapLeavesShifted(int index)
    {
        if (_gapTree is not null)
        {
            _gapDirtyFrom = Math.Min(_gapDirtyFrom, index);
        }
    }

    private readonly record struct Position(int Chunk, int Slot);

    /// <summary>The entries of a <see cref="RangeMap{T}"/> overlapping a range, ascending; allocation-free.</summary>
    public readonly struct OverlapEnumerable
    {
        private readonly RangeMap<T> _map;
        private readonly IovaRange _range;
        private readonly bool _startsAtOrAbove;

        internal OverlapEnumerable(RangeMap<T> map, IovaRange range, bool startsAtOrAbove = false)
        {
            _map = map;
            _range = range;
            _startsAtOrAbove = startsAtOrAbove;
        }

        /// <summary>Returns the enumerator.</summary>
        public Enumerator GetEnumerator() => new(_map, _range, _startsAtOrAbove);

        /// <summary>Copies the entries to a list.</summary>
        public List<RangeMapEntry<T>> ToList()
        {
            var list = new List<RangeMapEntry<T>>();
            foreach (RangeMapEntry<T> e in this)
            {
                list.Add(e);
            }

            return list;
        }

        /// <summary>Enumerates ascending; throws if the map changes during enumeration.</summary>
        public struct Enumerator
        {
            private readonly RangeMap<T> _map;
            private readonly ulong _last;
            private readonly long _version;
            private int _chunk;
            private int _slot;
            private RangeMapEntry<T> _current;

            internal Enumerator(RangeMap<T> map, IovaRange range, bool startsAtOrAbove)
            {
                _map = map;
                _last = range.Last;
                _version = map._version;
                Position p = map.FirstOverlappingPosition(range.First);
                if (startsAtOrAbove && p.Chunk < map._chunkCount && map._chunks[p.Chunk].Firsts[p.Slot] < range.First)
                {
                    p = map.Next(p);
                }

                _chunk = p.Chunk;
                _slot = p.Slot;
                _current = default;
            }

            /// <summary>The current entry.</summary>
            public readonly RangeMapEntry<T> Current => _current;

            /// <summary>Advances to the next overlapping entry.</summary>
            public bool MoveNext()
            {
                if (_version != _map._version)
                {
                    ThrowHelper.ThrowInvalidOperation("the range map changed during enumeration");
                }

                if (_chunk >= _map._chunkCount)
                {
                    return false;
                }

                Chunk c = _map._chunks[_chunk];
                if (c.Firsts[_slot] > _last)
                {
                    _chunk = _map._chunkCount;
                    return false;
                }

                _map.NodesVisited++;
                _current = c.Get(_slot);
                if (++_slot == c.Count)
                {
                    _chunk++;
                    _slot = 0;
                }

                return true;
            }
        }
    }

    // Slots per cache line of first keys (64 bytes / 8), and lines per chunk.
    private const int LineSlots = 8;
    private const int SampleStride = 64; // chunks per top-level sample
    private const int Lines = ChunkCapacity / LineSlots;

    /// <summary>The first key of each cache line of a chunk's Firsts: Summary[k] == Firsts[k * 8] for k * 8 &lt; Count.</summary>
    [InlineArray(Lines)]
    private struct LineSummary
    {
        private ulong _element;
    }

    private sealed class Chunk
    {
        public readonly ulong[] Firsts = new ulong[ChunkCapacity];
        public readonly ulong[] Lasts = new ulong[ChunkCapacity];
        public readonly T[] Values = new T[ChunkCapacity];
        public int Count;

        // Inline in the object, so the summary is read with the chunk's header rather than as another array.
        public LineSummary Summary;

        // The largest hole between two consecutive entries of this chunk; valid only when GapValid.
        public ulong InnerMaxGap;
        public bool GapValid;

        public RangeMapEntry<T> Get(int slot) =>
            new(IovaRange.FromFirstLast(Firsts[slot], Lasts[slot]), Values[slot]);

        public void Insert(int slot, IovaRange range, T value)
        {
            int move = Count - slot;
            Array.Copy(Firsts, slot, Firsts, slot + 1, move);
            Array.Copy(Lasts, slot, Lasts, slot + 1, move);
            Array.Copy(Values, slot, Values, slot + 1, move);
            Firsts[slot] = range.First;
            Lasts[slot] = range.Last;
            Values[slot] = value;
            Count++;
            GapValid = false;
            RefreshSummary(slot);
        }

        public void RemoveAt(int slot)
        {
            int move = Count - slot - 1;
            Array.Copy(Firsts, slot + 1, Firsts, slot, move);
            Array.Copy(Lasts, slot + 1, Lasts, slot, move);
            Array.Copy(Values, slot + 1, Values, slot, move);
            Count--;
            Values[Count] = default!;
            GapValid = false;
            RefreshSummary(slot);
        }

        public Chunk SplitUpperHalf()
        {
            var upper = new Chunk();
            int keep = Count / 2;
            int moved = Count - keep;
            Array.Copy(Firsts, keep, upper.Firsts, 0, moved);
            Array.Copy(Lasts, keep, upper.Lasts, 0, moved);
            Array.Copy(Values, keep, upper.Values, 0, moved);
            Array.Clear(Values, keep, moved);
            upper.Count = moved;
            Count = keep;
            GapValid = false;
            upper.RefreshSummary(0);
            return upper;
        }

        // Lines from the one holding slot onward shifted: re-read their first keys (entries past Count are unused).
        public void RefreshSummary(int slot)
        {
            for (int k = slot / LineSlots; k * LineSlots < Count; k++)
            {
                Summary[k] = Firsts[k * LineSlots];
            }
        }
    }
}

/// <summary>One entry of a <see cref="RangeMap{T}"/>: an inclusive range and its value.</summary>
/// <param name="Range">The range.</param>
/// <param name="Value">The value stored with it.</param>
public readonly record struct RangeMapEntry<T>(IovaRange Range, T Value);
