using System.Runtime.CompilerServices;

namespace IommuKit.Addressing;

/// <content>
/// Bulk members: removing every entry overlapping a range in one call, and appending above the highest entry. Chunks a
/// bulk removal empties are kept in a pool that appends draw from, so a map emptied and refilled in ascending order
/// (a notifier's IOVA tree during a replay) allocates nothing once warm.
/// </content>
public sealed partial class RangeMap<T>
{
    private Chunk[] _pool = [];
    private int _poolCount;

    /// <summary>
    /// Removes every entry sharing an address with <paramref name="range"/> (entries that only partly overlap go as a
    /// whole); returns how many were removed. Costs O(log n + chunk capacity + chunks removed), not one lookup per entry.
    /// </summary>
    public int RemoveOverlapping(IovaRange range)
    {
        Position p = FirstOverlappingPosition(range.First);
        if (p.Chunk >= _chunkCount || _chunks[p.Chunk].Firsts[p.Slot] > range.Last)
        {
            return 0;
        }

        // The last overlapping entry is the last one starting at or below range.Last; it exists (p's entry qualifies).
        FindFloor(range.Last, out int lastChunk, out int lastSlot);
        int firstChunk = p.Chunk;
        int removed;
        int dropFrom; // chunks [dropFrom, dropTo) become empty and leave the map
        int dropTo;
        if (firstChunk == lastChunk)
        {
            Chunk c = _chunks[firstChunk];
            removed = lastSlot - p.Slot + 1;
            RemoveRange(c, p.Slot, removed);
            dropFrom = firstChunk + (c.Count == 0 ? 0 : 1);
            dropTo = firstChunk + 1;
            if (c.Count != 0 && p.Slot == 0)
            {
                SetChunkFirst(firstChunk, c.Firsts[0]);
            }
        }
        else
        {
            Chunk head = _chunks[firstChunk];
            Chunk tail = _chunks[lastChunk];
            removed = head.Count - p.Slot + lastSlot + 1;
            for (int ci = firstChunk + 1; ci < lastChunk; ci++)
            {
                removed += _chunks[ci].Count;
            }

            RemoveRange(head, p.Slot, head.Count - p.Slot);
            RemoveRange(tail, 0, lastSlot + 1);
            dropFrom = firstChunk + (head.Count == 0 ? 0 : 1);
            dropTo = lastChunk + (tail.Count == 0 ? 1 : 0);
            if (tail.Count != 0)
            {
                SetChunkFirst(lastChunk, tail.Firsts[0]);
            }
        }

        // Every chunk in [dropFrom, dropTo) is now empty or wholly inside the range: pool them and close the hole.
        int drop = dropTo - dropFrom;
        for (int ci = dropFrom; ci < dropTo; ci++)
        {
            Chunk c = _chunks[ci];
            RemoveRange(c, 0, c.Count);
            PoolChunk(c);
        }

        int move = _chunkCount - dropTo;
        Array.Copy(_chunks, dropTo, _chunks, dropFrom, move);
        Array.Copy(_chunkFirsts, dropTo, _chunkFirsts, dropFrom, move);
        Array.Clear(_chunks, _chunkCount - drop, drop);
        _chunkCount -= drop;
        RefreshSamples(dropFrom);
        _count -= removed;
        _version++;

        // The chunk that kept the head lost entries; every chunk from it on may have moved: refresh their gap leaves.
        GapLeavesShifted(firstChunk);
        return removed;
    }

    /// <summary>
    /// Adds <paramref name="range"/> when it starts above every entry (an append: no search, no split, chunks filled
    /// to capacity and taken from the pool of emptied ones); false (nothing changed) when some entry ends at or above
    /// its start.
    /// </summary>
    public bool TryAddLast(IovaRange range, T value)
    {
        Chunk chunk;
        if (_chunkCount != 0)
        {
            chunk = _chunks[_chunkCount - 1];
            if (chunk.Lasts[chunk.Count - 1] >= range.First)
            {
                return false;
            }

            if (chunk.Count < ChunkCapacity)
            {
                Append(chunk, range, value);
                ChunkChanged(_chunkCount - 1);
                _count++;
                _version++;
                return true;
            }
        }

        chunk = TakeChunk();
        Append(chunk, range, value);
        InsertChunkAt(_chunkCount, chunk);
        _count++;
        _version++;
        return true;
    }

    private void PoolChunk(Chunk chunk)
    {
        if (_poolCount == _pool.Length)
        {
            Array.Resize(ref _pool, Math.Max(4, _pool.Length * 2));
        }

        _pool[_poolCount++] = chunk;
    }

    private Chunk TakeChunk()
    {
        if (_poolCount != 0)
        {
            Chunk c = _pool[--_poolCount];
            _pool[_poolCount] = null!;
            return c;
        }

        Chunk? spare = _spare;
        _spare = null;
        return spare ?? new Chunk();
    }

    // Removes the count entries of chunk from slot on (a range of RemoveAt in one move).
    private static void RemoveRange(Chunk chunk, int slot, int count)
    {
        if (count == 0)
        {
            return;
        }

        int move = chunk.Count - slot - count;
        Array.Copy(chunk.Firsts, slot + count, chunk.Firsts, slot, move);
        Array.Copy(chunk.Lasts, slot + count, chunk.Lasts, slot, move);
        Array.Copy(chunk.Values, slot + count, chunk.Values, slot, move);
        chunk.Count -= count;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            Array.Clear(chunk.Values, chunk.Count, count);
        }

        chunk.GapValid = false;
        chunk.RefreshSummary(slot);
    }

    // Adds an entry after chunk's last one; the caller checked there is room and that it sorts last.
    private static void Append(Chunk chunk, IovaRange range, T value)
    {
        int slot = chunk.Count;
        chunk.Firsts[slot] = range.First;
        chunk.Lasts[slot] = range.Last;
        chunk.Values[slot] = value;
        chunk.Count = slot + 1;
        chunk.GapValid = false;
        if (slot % LineSlots == 0)
        {
            chunk.Summary[slot / LineSlots] = range.First;
        }
    }
}
