using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using IommuKit.Addressing;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>
/// A set-associative IOTLB: a cache of leaf translations with LRU replacement in each set.
/// </summary>
/// <remarks>
/// <para>Layout (struct of arrays, allocated once): slot <c>set × Ways + way</c> has a tag, a PA, a generation, an
/// LRU stamp and permissions. A tag is <c>IovaBase | log2(LeafSize) | ValidBit</c>: a leaf is at least 4 KiB and
/// aligned to its size, so bits 0..11 of its base are free for the size (bits 0..5) and the valid bit (bit 6); an
/// empty slot's tag is 0, which never equals a probe key (those have the valid bit).</para>
/// <para>Leaf sizes: an entry lives in set <c>(IovaBase &gt;&gt; log2(LeafSize)) &amp; (Sets - 1)</c>, so a
/// 2 MiB or 1 GiB leaf is one entry, and consecutive leaves of any one size spread over the sets. A lookup probes
/// once per leaf size that has at least one valid entry (a bitmap kept on fill and invalidation), smallest size
/// first; with only 4 KiB entries cached that is one probe of <c>Ways</c> tags, compared with one vectorised
/// <c>IndexOf</c> over a contiguous span. Lookup and fill allocate nothing.</para>
/// <para>Invalidation by range reads each slot once (cost: the capacity, never the number of pages in the range,
/// so <see cref="IovaRange.Full"/> costs the same as one page); by page probes the page's set for each cached size.
/// An entry is dropped when its leaf overlaps the range at all, as hardware drops a superpage entry on a
/// page-selective invalidation of any page inside it.</para>
/// <para>Replacement: exact LRU within a set. Each set has its own clock and remembers its most recently used slot; a
/// hit on that slot writes nothing, any other hit stamps the slot with the set's next clock value, and a full set
/// evicts its smallest stamp. Sets share no written state, so threads hitting different entries (or each hitting its
/// set's most recent entry) do not bounce a cache line between cores.</para>
/// <para>Invariants: a tag appears at most once per set; <c>Count</c> is the number of non-zero tags; the size
/// bitmap has bit <c>s</c> set exactly when some valid tag has size <c>2^s</c>.</para>
/// <para>Threading: not thread-safe by itself; <see cref="IommuDomain"/> serialises its writers and validates its
/// lock-free hits with a sequence counter. The hits counted by that fast path go to per-thread counters (one small
/// object per thread that ever hit), so the totals in <see cref="Stats"/> are exact once the threads are joined and
/// a hit costs no atomic instruction.</para>
/// </remarks>
public sealed class Iotlb
{
    /// <summary>The smallest leaf size an entry may have, 4 KiB.</summary>
    public const ulong MinLeafSize = PageSizes.Size4K;

    private const ulong ShiftMask = 0x3f;   // bits 0..5: log2(LeafSize), 12..63
    private const ulong ValidBit = 0x40;    // bit 6
    private const ulong TagLowMask = MinLeafSize - 1; // bits 0..11 never hold base bits

    private readonly ulong[] _tags;
    private readonly ulong[] _pas;
    private readonly long[] _generations;
    private readonly ulong[] _stamps;
    private readonly Permissions[] _permissions;
    private readonly int[] _countBySize = new int[64];
    private readonly int _ways;
    private readonly int _setMask;
    private readonly SetLru[] _lru; // per set: its LRU clock and its most recently used slot
    private ulong _sizeBitmap; // bit s: some valid entry has LeafSize 2^s
    private int _count;

    private long _hits;
    private long _misses;
    private long _walks;
    private long _fills;
    private long _evictions;
    private long _invalidations;
    private long _invalidatedEntries;
    private long _entriesExamined;

    // Fast-path hit counters, one per thread that hit, indexed by ThreadCounters.Index - 1 (see CountFastHit).
    private ThreadCounters?[] _threadCounters = [];
    private readonly Lock _threadCountersLock = new();

    [ThreadStatic]
    private static int _currentThreadIndex; // 0: not assigned yet
    private static int _lastThreadIndex;

    /// <summary>Creates an empty IOTLB of the given geometry.</summary>
    public Iotlb(IotlbGeometry geometry)
    {
        if (geometry.Entries == 0)
        {
            ThrowHelper.ThrowArgument(nameof(geometry), "geometry is default (0 entries): use new IotlbGeometry(entries, ways)");
        }

        Geometry = geometry;
        _ways = geometry.Ways;
        _setMask = geometry.Sets - 1;
        _tags = new ulong[geometry.Entries];
        _pas = new ulong[geometry.Entries];
        _generations = new long[geometry.Entries];
        _stamps = new ulong[geometry.Entries];
        _lru = new SetLru[geometry.Sets];
        _permissions = new Permissions[geometry.Entries];
    }

    /// <summary>The geometry.</summary>
    public IotlbGeometry Geometry { get; }

    /// <summary>The number of valid entries.</summary>
    public int Count => _count;

    /// <summary>The counters.</summary>
    public IotlbStats Stats
    {
        get
        {
            long hits = _hits;
            foreach (ThreadCounters? c in Volatile.Read(ref _threadCounters))
            {
                hits += c is null ? 0 : Volatile.Read(ref c.HitsEver) - Volatile.Read(ref c.HitsAtReset);
            }

            return new(hits, _misses, _walks, _fills, _evictions, _invalidations, _invalidatedEntries, _entriesExamined);
        }
    }

    /// <summary>Hits counted by <see cref="CountFastHit"/> since creation (never reset): the owner's lock-free translations.</summary>
    internal long FastHitsEver
    {
        get
        {
            long total = 0;
            foreach (ThreadCounters? c in Volatile.Read(ref _threadCounters))
            {
                total += c is null ? 0 : Volatile.Read(ref c.HitsEver);
            }

            return total;
        }
    }

    /// <summary>Writes of LRU state so far (fills and hits that changed a set's most recent entry), summed over sets.</summary>
    internal long LruUpdates
    {
        get
        {
            long total = 0;
            foreach (SetLru s in _lru)
            {
                total += (uint)s.Updates;
            }

            return total;
        }
    }

    /// <summary>Resets every counter to zero (entries stay).</summary>
    public void ResetStats()
    {
        _hits = _misses = _walks = _fills = _evictions = _invalidations = _invalidatedEntries = _entriesExamined = 0;
        foreach (ThreadCounters? c in Volatile.Read(ref _threadCounters))
        {
            if (c is not null)
            {
                Volatile.Write(ref c.HitsAtReset, Volatile.Read(ref c.HitsEver));
            }
        }
    }

    /// <summary>
    /// Looks up the entry covering <paramref name="iova"/>, counting a hit or a miss; on a hit the entry becomes the
    /// most recently used of its set. Allocation-free.
    /// </summary>
    public bool TryLookup(ulong iova, out IotlbEntry entry)
    {
        int slot = Find(iova);
        if (slot < 0)
        {
            _misses++;
            entry = default;
            return false;
        }

        _hits++;
        Touch(slot);
        entry = MakeEntry(slot);
        return true;
    }

    /// <summary>
    /// The hot form of <see cref="TryLookup"/> for the domain's translate: the slot of the entry covering
    /// <paramref name="iova"/> (counted as a hit and made most recently used), or -1 (counted as a miss).
    /// Read the entry with <see cref="SlotPa"/>, <see cref="SlotPermissions"/>, <see cref="SlotLeafSize"/> and
    /// <see cref="SlotGeneration"/>; no <see cref="IotlbEntry"/> is built.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int LookupSlot(ulong iova)
    {
        int slot = Find(iova);
        if (slot < 0)
        {
            _misses++;
            return -1;
        }

        _hits++;
        Touch(slot);
        return slot;
    }

    /// <summary>
    /// Finds the entry covering <paramref name="iova"/>: its slot, its set and what it translates to; counts nothing
    /// and changes nothing. Safe to call while a writer changes the IOTLB (every read is a whole aligned word) provided
    /// the caller validates the result afterwards, as <see cref="IommuDomain"/>'s sequence counter does.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool Peek(ulong iova, out int slot, out int set, out ulong pa, out Permissions permissions, out ulong leafSize)
    {
        slot = Probe(iova, out set, out int shift);
        if (slot < 0)
        {
            pa = leafSize = 0;
            permissions = Permissions.None;
            return false;
        }

        leafSize = 1UL << shift;
        pa = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_pas), slot) + (iova & (leafSize - 1)); // slot < Entries; offset inside the leaf
        permissions = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_permissions), slot);
        return true;
    }

    /// <summary>
    /// Counts a validated lock-free hit on <paramref name="slot"/> of set <paramref name="set"/> (as
    /// <see cref="Peek"/> gave them): a hit in this thread's own counters (no atomic instruction) and the slot made
    /// the most recently used of its set, which writes nothing when it already is (so threads hitting their own
    /// entries share no written cache line). Concurrent hits in one set may give two slots the same LRU stamp
    /// (replacement then picks the lower way among them); nothing else is shared.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void CountFastHit(int slot, int set, ThreadCounters? counters)
    {
        MakeMostRecent(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_lru), set), slot); // set < Sets

        if (counters is not null)
        {
            counters.HitsEver++;
        }
        else
        {
            CountFastHitSlow();
        }
    }

    /// <summary>The calling thread's hit counters for this IOTLB, or null before its first lock-free hit here.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ThreadCounters? CurrentThreadCounters()
    {
        int index = _currentThreadIndex - 1;
        ThreadCounters?[] counters = _threadCounters;
        return (uint)index < (uint)counters.Length ? counters[index] : null;
    }

    // Makes slot the most recently used of its set (locked callers).
    private void Touch(int slot) => MakeMostRecent(ref _lru[slot / _ways], slot);

    // Stamps slot with its set's next clock value unless it already is the set's most recent (then nothing is written).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void MakeMostRecent(ref SetLru lru, int slot)
    {
        if (lru.Mru != slot)
        {
            Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_stamps), slot) = ++lru.Clock; // slot < Entries
            lru.Mru = slot;
            lru.Updates++;
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void CountFastHitSlow()
    {
        if (_currentThreadIndex == 0)
        {
            _currentThreadIndex = Interlocked.Increment(ref _lastThreadIndex); // 1, 2, ...: threads that ever hit an IOTLB
        }

        int index = _currentThreadIndex - 1;
        ThreadCounters c;
        lock (_threadCountersLock)
        {
            ThreadCounters?[] counters = _threadCounters;
            if (index >= counters.Length)
            {
                var grown = new ThreadCounters?[Math.Max(index + 1, counters.Length * 2)];
                counters.CopyTo(grown, 0);
                counters = grown;
            }

            c = counters[index] ??= new ThreadCounters();
            Volatile.Write(ref _threadCounters, counters);
        }

        c.HitsEver++;
    }

    /// <summary>The physical address of <paramref name="iova"/> through the entry in <paramref name="slot"/> (which covers it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong SlotPa(int slot, ulong iova) =>
        _pas[slot] + (iova & ((1UL << (int)(_tags[slot] & ShiftMask)) - 1)); // offset inside the leaf, below its size

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Permissions SlotPermissions(int slot) => _permissions[slot];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong SlotLeafSize(int slot) => 1UL << (int)(_tags[slot] & ShiftMask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long SlotGeneration(int slot) => _generations[slot];

    /// <summary>Like <see cref="TryLookup"/> but changes nothing: no counter, no LRU update.</summary>
    public bool TryPeek(ulong iova, out IotlbEntry entry)
    {
        int slot = Find(iova);
        entry = slot < 0 ? default : MakeEntry(slot);
        return slot >= 0;
    }

    /// <summary>Counts one page walk (the owner walked its page table after a miss).</summary>
    public void RecordWalk() => _walks++;

    /// <summary>
    /// Inserts <paramref name="entry"/> as the most recently used of its set. An entry with the same base and size
    /// is replaced in place; otherwise a free way is used, or else the least recently used way is evicted.
    /// </summary>
    /// <exception cref="ArgumentException">The leaf size is not a power of two of at least 4 KiB, or the IOVA base is not aligned to it.</exception>
    public void Insert(in IotlbEntry entry)
    {
        ulong size = entry.LeafSize;
        if (!BitOperations.IsPow2(size) || size < MinLeafSize || (entry.IovaBase & (size - 1)) != 0)
        {
            ThrowHelper.ThrowArgument(nameof(entry),
                $"IOTLB entry {ThrowHelper.Hex(entry.IovaBase)} size {ThrowHelper.Hex(size)}: the size must be a power of two >= 4K and the base aligned to it");
        }

        Fill(entry.IovaBase, entry.PaBase, BitOperations.TrailingZeroCount(size), entry.Permissions, entry.Generation);
    }

    /// <summary><see cref="Insert"/> without validation: <paramref name="iovaBase"/> is aligned to 2^<paramref name="shift"/>, shift in 12..63.</summary>
    internal void Fill(ulong iovaBase, ulong paBase, int shift, Permissions permissions, long generation)
    {
        ulong tag = iovaBase | (uint)shift | ValidBit;
        int setIndex = (int)(iovaBase >> shift) & _setMask;
        int first = setIndex * _ways; // < Entries <= 2^24
        ref ulong set = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tags), first);
        int way = FindWay(ref set, tag);
        if (way >= 0)
        {
            Drop(first + way); // the same leaf again: replace it in place
        }
        else
        {
            way = FindWay(ref set, 0UL);
            if (way < 0)
            {
                // Full set: evict the least recently used way (smallest stamp; stamps are unique and increasing).
                way = 0;
                ulong oldest = _stamps[first];
                for (int w = 1; w < _ways; w++)
                {
                    if (_stamps[first + w] < oldest)
                    {
                        oldest = _stamps[first + w];
                        way = w;
                    }
                }

                _evictions++;
                Drop(first + way);
            }
        }

        int slot = first + way;
        _tags[slot] = tag;
        _pas[slot] = paBase;
        _generations[slot] = generation;
        _permissions[slot] = permissions;
        ref SetLru lru = ref _lru[setIndex];
        _stamps[slot] = ++lru.Clock;
        lru.Mru = slot;
        lru.Updates++;
        _count++;
        if (_countBySize[shift]++ == 0)
        {
            _sizeBitmap |= 1UL << shift;
        }

        _fills++;
    }

    /// <summary>Drops every entry (a global invalidation). Returns the number dropped.</summary>
    public int InvalidateAll()
    {
        int dropped = _count;
        _invalidations++;
        _invalidatedEntries += dropped;
        _entriesExamined += _tags.Length;
        Array.Clear(_tags);
        Array.Clear(_countBySize);
        _sizeBitmap = 0;
        _count = 0;
        return dropped;
    }

    /// <summary>
    /// Drops every entry whose leaf overlaps <paramref name="range"/> (any size up to <see cref="IovaRange.Full"/>).
    /// Costs the smaller of one read per slot (whatever the size of the range) and one set probe per leaf of each
    /// cached size that the range touches (a small range, as after a 4K unmap, probes a set or two). Returns the
    /// number dropped.
    /// </summary>
    public int Invalidate(IovaRange range)
    {
        _invalidations++;
        int dropped = 0;
        ulong sizes = _sizeBitmap;
        if (ProbeCost(range, sizes) < (ulong)_tags.Length)
        {
            // Probe each leaf of each cached size the range touches: the set is the leaf number's low bits.
            while (sizes != 0)
            {
                int shift = BitOperations.TrailingZeroCount(sizes);
                sizes &= sizes - 1;
                for (ulong page = range.First >> shift; ; page++)
                {
                    dropped += DropLeaf(page, shift);
                    if (page == range.Last >> shift)
                    {
                        break; // compared before the increment: the last leaf may be the top of the space
                    }
                }
            }

            _invalidatedEntries += dropped;
            return dropped;
        }

        _entriesExamined += _tags.Length;
        ulong[] tags = _tags;
        for (int slot = 0; slot < tags.Length && _count > 0; slot++)
        {
            ulong tag = tags[slot];
            if (tag == 0)
            {
                continue;
            }

            // The base is aligned to the leaf size, so base + size - 1 cannot pass 2^64 - 1.
            ulong first = tag & ~TagLowMask;
            ulong last = first + ((1UL << (int)(tag & ShiftMask)) - 1);
            if (first <= range.Last && last >= range.First)
            {
                Drop(slot);
                dropped++;
            }
        }

        _invalidatedEntries += dropped;
        return dropped;
    }

    // Drops the entry for leaf number page of size 2^shift if cached, probing its one set; returns 1 or 0.
    private int DropLeaf(ulong page, int shift)
    {
        int first = ((int)page & _setMask) * _ways; // < Entries <= 2^24
        _entriesExamined += _ways;
        int way = FindWay(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tags), first), (page << shift) | (uint)shift | ValidBit);
        if (way < 0)
        {
            return 0;
        }

        Drop(first + way);
        return 1;
    }

    // Tags a per-leaf invalidation of range would read: ways per leaf of each cached size it touches. Saturates at
    // ulong.MaxValue (leaves per size are at most 2^52; the sum of ways x leaves over up to 52 sizes may not fit).
    private ulong ProbeCost(IovaRange range, ulong sizes)
    {
        ulong cost = 0;
        while (sizes != 0)
        {
            int shift = BitOperations.TrailingZeroCount(sizes);
            sizes &= sizes - 1;
            ulong leaves = (range.Last >> shift) - (range.First >> shift) + 1; // <= 2^52: shift >= 12
            ulong probe = leaves >= ulong.MaxValue / (ulong)_ways ? ulong.MaxValue : leaves * (ulong)_ways;
            cost = probe >= ulong.MaxValue - cost ? ulong.MaxValue : cost + probe;
        }

        return cost;
    }

    /// <summary>Drops every entry whose leaf contains <paramref name="iova"/> (of any cached size). Returns the number dropped.</summary>
    public int InvalidatePage(ulong iova)
    {
        _invalidations++;
        int dropped = 0;
        ulong sizes = _sizeBitmap;
        while (sizes != 0)
        {
            int shift = BitOperations.TrailingZeroCount(sizes);
            sizes &= sizes - 1;
            dropped += DropLeaf(iova >> shift, shift);
        }

        _invalidatedEntries += dropped;
        return dropped;
    }

    /// <summary>The valid entries, in slot order (set by set). Allocates; for tests and tracing.</summary>
    public IotlbEntry[] ToArray()
    {
        var entries = new IotlbEntry[_count];
        int n = 0;
        for (int slot = 0; slot < _tags.Length; slot++)
        {
            if (_tags[slot] != 0)
            {
                entries[n++] = MakeEntry(slot);
            }
        }

        return entries;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Find(ulong iova) => Probe(iova, out _, out _);

    // The slot of the entry covering iova, with its set and log2 of its leaf size; -1 (set and shift 0) when none.
    // One probe per cached leaf size, smallest first.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Probe(ulong iova, out int set, out int shift)
    {
        ulong sizes = _sizeBitmap;
        while (sizes != 0)
        {
            shift = BitOperations.TrailingZeroCount(sizes);
            sizes &= sizes - 1;
            ulong page = iova >> shift;
            set = (int)page & _setMask;
            int first = _ways == 8 ? set << 3 : set * _ways; // < Entries <= 2^24 (the default shape needs no multiply)
            int way = FindWay(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_tags), first), (page << shift) | (uint)shift | ValidBit);
            if (way >= 0)
            {
                return first + way;
            }
        }

        set = shift = 0;
        return -1;
    }

    /// <summary>The way of the set starting at <paramref name="set"/> whose tag is <paramref name="key"/>, or -1.</summary>
    /// <remarks>8 ways (the default) compare in one 512-bit (or two 256-bit) vector compares; other shapes loop.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindWay(ref ulong set, ulong key)
    {
        if (_ways == 8)
        {
            if (Vector512.IsHardwareAccelerated)
            {
                ulong mask = Vector512.Equals(Vector512.LoadUnsafe(ref set), Vector512.Create(key)).ExtractMostSignificantBits();
                return mask == 0 ? -1 : BitOperations.TrailingZeroCount(mask);
            }

            if (Vector256.IsHardwareAccelerated)
            {
                var k = Vector256.Create(key);
                uint low = Vector256.Equals(Vector256.LoadUnsafe(ref set), k).ExtractMostSignificantBits();
                uint high = Vector256.Equals(Vector256.LoadUnsafe(ref set, 4), k).ExtractMostSignificantBits();
                uint mask = low | (high << 4);
                return mask == 0 ? -1 : BitOperations.TrailingZeroCount(mask);
            }
        }

        for (int w = 0; w < _ways; w++)
        {
            if (Unsafe.Add(ref set, w) == key)
            {
                return w;
            }
        }

        return -1;
    }

    private IotlbEntry MakeEntry(int slot)
    {
        ulong tag = _tags[slot];
        return new IotlbEntry(tag & ~TagLowMask, _pas[slot], 1UL << (int)(tag & ShiftMask), _permissions[slot], _generations[slot]);
    }

    private void Drop(int slot)
    {
        int shift = (int)(_tags[slot] & ShiftMask);
        _tags[slot] = 0;
        _count--;
        if (--_countBySize[shift] == 0)
        {
            _sizeBitmap &= ~(1UL << shift);
        }
    }

    /// <summary>One thread's fast-path hit counters; written only by that thread (<see cref="HitsAtReset"/> by
    /// <see cref="ResetStats"/>).</summary>
    internal sealed class ThreadCounters
    {
        public long HitsEver;
        public long HitsAtReset;
    }

    /// <summary>One set's LRU state: its clock (the stamp of its most recent use) and the slot that has it.</summary>
    private struct SetLru
    {
        public ulong Clock;
        public int Mru;
        public int Updates; // writes of this set's LRU state (wraps; for tests)
    }
}
