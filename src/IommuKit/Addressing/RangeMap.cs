using System.Collections;

namespace IommuKit.Addressing;

/// <summary>
/// An ordered map of disjoint inclusive ranges to values: the record store behind containers (type1 <c>dma_list</c>,
/// iommufd areas and reserved ranges), notifier dedupe trees and the like.
/// </summary>
/// <remarks>
/// <para>Invariants: entries are sorted by <see cref="IovaRange.First"/> and never overlap; adjacent entries are never
/// merged (one record per insert, as the kernel keeps one <c>vfio_dma</c> per MAP).</para>
/// <para>Layout: a list of chunks, each a sorted array of up to <see cref="ChunkCapacity"/> entries. Lookups are two
/// binary searches, O(log n); insert and remove move at most one chunk's entries plus the chunk list, so costs grow
/// with the number of entries, never with the span of the address space. Ranges may end at 2^64-1; nothing here
/// computes an exclusive end in 64 bits.</para>
/// <para>Not thread-safe; owners serialise writers.</para>
/// </remarks>
/// <typeparam name="T">The value stored with each range.</typeparam>
public sealed class RangeMap<T> : IEnumerable<RangeMapEntry<T>>
{
    /// <summary>The most entries one chunk holds before it splits.</summary>
    public const int ChunkCapacity = 128;

    private readonly List<Chunk> _chunks = [];
    private int _count;
    private long _version;

    /// <summary>The number of entries.</summary>
    public int Count => _count;

    /// <summary>Entries visited by lookups since creation or <see cref="ResetCounters"/> (for scaling tests).</summary>
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

        Chunk last = _chunks[^1];
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
            _chunks.RemoveAt(ci);
        }

        _count--;
        _version++;
        return true;
    }

    /// <summary>Removes every entry.</summary>
    public void Clear()
    {
        _chunks.Clear();
        _count = 0;
        _version++;
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
        if (FindFloor(address, out int ci, out int slot) && _chunks[ci].Lasts[slot] >= address)
        {
            entry = _chunks[ci].Get(slot);
            return true;
        }

        entry = default;
        return false;
    }

    /// <summary>True when any entry shares an address with <paramref name="range"/>.</summary>
    public bool Overlaps(IovaRange range) => TryGetFirstOverlapping(range, out _);

    /// <summary>The lowest entry overlapping <paramref name="range"/>, if any.</summary>
    public bool TryGetFirstOverlapping(IovaRange range, out RangeMapEntry<T> entry)
    {
        Position p = FirstOverlappingPosition(range);
        if (p.Chunk < _chunks.Count)
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

    private void InsertUnchecked(IovaRange range, T value)
    {
        _version++;
        _count++;
        if (_chunks.Count == 0)
        {
            var c = new Chunk();
            c.Insert(0, range, value);
            _chunks.Add(c);
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
            _chunks.Insert(ci + 1, upper);
            if (slot > chunk.Count)
            {
                slot -= chunk.Count;
                chunk = upper;
            }
        }

        chunk.Insert(slot, range, value);
    }

    // The last entry whose First <= address: (chunk, slot). False when every entry starts above address.
    private bool FindFloor(ulong address, out int chunkIndex, out int slot)
    {
        int lo = 0, hi = _chunks.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            NodesVisited++;
            if (_chunks[mid].Firsts[0] <= address)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        if (found < 0)
        {
            chunkIndex = 0;
            slot = -1;
            return false;
        }

        Chunk c = _chunks[found];
        int l = 0, h = c.Count - 1, s = 0;
        while (l <= h)
        {
            int m = (l + h) >>> 1;
            NodesVisited++;
            if (c.Firsts[m] <= address)
            {
                s = m;
                l = m + 1;
            }
            else
            {
                h = m - 1;
            }
        }

        chunkIndex = found;
        slot = s;
        return true;
    }

    private bool TryLocate(ulong first, out int chunkIndex, out int slot) =>
        FindFloor(first, out chunkIndex, out slot) && _chunks[chunkIndex].Firsts[slot] == first;

    // The position of the lowest entry whose Last >= range.First (it overlaps iff its First <= range.Last).
    private Position FirstOverlappingPosition(IovaRange range)
    {
        if (FindFloor(range.First, out int ci, out int slot))
        {
            if (_chunks[ci].Lasts[slot] >= range.First)
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
                Position p = map.FirstOverlappingPosition(range);
                if (startsAtOrAbove && p.Chunk < map._chunks.Count && map._chunks[p.Chunk].Firsts[p.Slot] < range.First)
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

                if (_chunk >= _map._chunks.Count)
                {
                    return false;
                }

                Chunk c = _map._chunks[_chunk];
                if (c.Firsts[_slot] > _last)
                {
                    _chunk = _map._chunks.Count;
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

    private sealed class Chunk
    {
        public readonly ulong[] Firsts = new ulong[ChunkCapacity];
        public readonly ulong[] Lasts = new ulong[ChunkCapacity];
        public readonly T[] Values = new T[ChunkCapacity];
        public int Count;

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
        }

        public void RemoveAt(int slot)
        {
            int move = Count - slot - 1;
            Array.Copy(Firsts, slot + 1, Firsts, slot, move);
            Array.Copy(Lasts, slot + 1, Lasts, slot, move);
            Array.Copy(Values, slot + 1, Values, slot, move);
            Count--;
            Values[Count] = default!;
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
            return upper;
        }
    }
}

/// <summary>One entry of a <see cref="RangeMap{T}"/>: an inclusive range and its value.</summary>
/// <param name="Range">The range.</param>
/// <param name="Value">The value stored with it.</param>
public readonly record struct RangeMapEntry<T>(IovaRange Range, T Value);
