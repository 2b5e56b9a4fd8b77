using System.Numerics;
using System.Runtime.CompilerServices;
using IommuKit.Addressing;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Iommu;

/// <summary>
/// An IOMMU translation domain: an <see cref="IoPageTable"/>, the <see cref="Iotlb"/> that caches its leaves and the
/// <see cref="FaultLog"/> that records refused DMA.
/// </summary>
/// <remarks>
/// <para>Translation (<see cref="Translate"/>): an IOVA above the page table's width faults
/// <see cref="DmaFaultReason.BeyondWidth"/>; otherwise the IOTLB is looked up first and, on a miss, the table is
/// walked and the leaf cached. Permissions are checked on hits and walks alike; a fault is logged and never fills
/// the IOTLB. Zero allocation.</para>
/// <para>Invalidation is explicit, as with real hardware: <see cref="Unmap"/> clears PTEs but leaves IOTLB entries
/// (unless <see cref="IommuDomainOptions.FlushOnUnmap"/>), so a device may still reach the old pages through a
/// stale entry until <see cref="Flush"/>, <see cref="FlushPage"/> or <see cref="FlushAll"/>;
/// <see cref="UnmapAndFlush"/> does both before returning (a strict driver's unmap).</para>
/// <para>Stale-entry detection: each IOTLB entry carries the domain's <see cref="Generation"/> when it was
/// filled. Every unmap that removed something without flushing records (range, new generation); a hit is stale
/// when its IOVA lies in a recorded range that is newer than the entry. Flushes forget the records they make
/// harmless. Past <see cref="MaxUnflushedUnmaps"/> records the domain stops recording and checks each hit
/// against a page walk instead, until <see cref="FlushAll"/>.</para>
/// <para>Invariants: every mapping lies inside <see cref="Aperture"/> and outside <see cref="Reserved"/>;
/// <see cref="Generation"/> increases with every map or unmap that changed the table.</para>
/// <para>Threading (docs/robustness.md): many DMA threads may call <see cref="Translate"/> while one thread maps,
/// unmaps and flushes. Writers (map, unmap, flush, and the IOTLB fill of a translation that missed) run under one
/// domain lock (<see cref="System.Threading.Lock"/>, re-entrant); so do misses, faults and stale checks, which walk,
/// fill and log. An IOTLB hit takes no lock: it is a sequence-lock reader. Every writer that changes what a hit can
/// see (the IOTLB's entries, the unflushed-unmap records) makes the domain's sequence number odd before its first
/// store and even again after its last; a hit reads the sequence, probes the IOTLB, reads the entry, and keeps the
/// result only if the sequence was even and has not moved, else it retries under the lock. A map needs no sequence
/// change: it never touches the IOTLB. A hit's counters are per thread (see <see cref="Iotlb"/>), so the hit path
/// has no atomic instruction and no shared write but the LRU stamp. Guarantees: a translation sees the table and
/// IOTLB either before or after any map/unmap/flush, never half of one (no torn result: the returned PA and
/// permissions come from one leaf that existed); once <see cref="UnmapAndFlush"/> (or <see cref="Unmap"/> followed
/// by a flush of the range) has returned, no translation of the range succeeds until it is mapped again.
/// <see cref="Translations"/> and the IOTLB counters are exact once the translating threads have been joined; read
/// while they run, they may lag. Callers must not change <see cref="PageTable"/> or <see cref="Iotlb"/> directly
/// while other threads translate.</para>
/// </remarks>
public sealed class IommuDomain
{
    /// <summary>Unflushed unmaps recorded for stale detection before falling back to page walks.</summary>
    public const int MaxUnflushedUnmaps = 4096;

    private readonly List<(IovaRange Range, long Generation)> _unflushed = [];
    private readonly IovaRange[] _reserved;
    private readonly bool _flushOnUnmap;
    private readonly ulong _widthLast;
    private readonly Lock _lock = new();
    private bool _unflushedOverflow;
    private long _sequence; // odd while a writer changes what an IOTLB hit can see
    private long _lockedTranslations;
    private int _writeDepth;
    // The lock-free hit serves IOVAs below this: the width's end (capped at 2^64 - 1, so the top page of a 64-bit
    // table goes the locked way), or 0 while unflushed unmaps need the locked stale check.
    private ulong _fastLimit;

    /// <summary>Creates a domain with an empty page table.</summary>
    /// <param name="frames">Where page-table pages come from.</param>
    /// <param name="options">The settings; defaults when null.</param>
    /// <exception cref="ArgumentException">The page sizes do not suit the format, the aperture passes the table's
    /// width or is not aligned to the smallest page size.</exception>
    public IommuDomain(FrameAllocator frames, IommuDomainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(frames);
        options ??= new IommuDomainOptions();
        ArgumentNullException.ThrowIfNull(options.Reserved, nameof(options) + "." + nameof(options.Reserved));

        IovaRange aperture = options.Aperture ?? IovaRange.Full;
        PageSizes sizes = options.PageSizes ?? IoPageTable.SupportedLeafSizes;
        if (options.Aperture is { } a && !a.IsAligned(sizes.Smallest == 0 ? 1 : sizes.Smallest))
        {
            ThrowHelper.ThrowArgument(nameof(options), $"aperture {a} is not aligned to the smallest page size {ThrowHelper.Hex(sizes.Smallest)}");
        }

        IoPageTable table = IoPageTable.Create(options.Format, frames, options.PageSizes);
        if (options.Aperture is null)
        {
            aperture = table.AddressRange;
        }
        else if (!table.AddressRange.Contains(aperture))
        {
            ThrowHelper.ThrowArgument(nameof(options),
                $"aperture {aperture} passes the {table.AddressWidth}-bit width {table.AddressRange} of {PageTableFormats.Name(options.Format)}");
        }

        PageTable = table;
        Aperture = aperture;
        _reserved = [.. options.Reserved];
        _flushOnUnmap = options.FlushOnUnmap;
        EnforcesCacheCoherency = options.EnforceCacheCoherency;
        _widthLast = table.AddressRange.Last;
        _fastLimit = FastLimit(staleTracking: false);
        Iotlb = new Iotlb(options.Iotlb);
        Faults = new FaultLog(options.FaultLogCapacity);
    }

    /// <summary>The page table (its format, width, leaf sizes and counters).</summary>
    public IoPageTable PageTable { get; }

    /// <summary>The leaf sizes the domain maps with.</summary>
    public PageSizes PageSizes => PageTable.LeafSizes;

    /// <summary>The IOVA range that may be mapped.</summary>
    public IovaRange Aperture { get; }

    /// <summary>Whether DMA through this domain is always cache coherent (<see cref="IommuDomainOptions.EnforceCacheCoherency"/>).</summary>
    public bool EnforcesCacheCoherency { get; }

    /// <summary>IOVA ranges that can never be mapped.</summary>
    public IReadOnlyList<IovaRange> Reserved => _reserved;

    /// <summary>The IOTLB.</summary>
    public Iotlb Iotlb { get; }

    /// <summary>The fault log.</summary>
    public FaultLog Faults { get; }

    /// <summary>Increases by one with every map or unmap that changed the table; IOTLB entries record it when filled.</summary>
    public long Generation { get; private set; }

    /// <summary>Accesses that succeeded through a stale IOTLB entry (see <see cref="DmaTranslation.IsStale"/>).</summary>
    public long StaleHits { get; private set; }

    /// <summary>Translations done (allowed or faulted).</summary>
    public long Translations => _lockedTranslations + Iotlb.FastHitsEver;

    /// <summary>Whether <paramref name="range"/> may be mapped: inside the aperture and clear of reserved ranges.</summary>
    public DomainRangeStatus CheckRange(IovaRange range)
    {
        if (!Aperture.Contains(range))
        {
            return DomainRangeStatus.OutsideAperture;
        }

        foreach (IovaRange r in _reserved)
        {
            if (r.Overlaps(range))
            {
                return DomainRangeStatus.Reserved;
            }
        }

        return DomainRangeStatus.Ok;
    }

    /// <summary>
    /// Maps <paramref name="range"/> to <paramref name="pa"/> onward with the largest leaves alignment allows.
    /// All or nothing.
    /// </summary>
    /// <returns>
    /// <see cref="PageTableStatus.Ok"/>; <see cref="PageTableStatus.BeyondWidth"/> when the range leaves the
    /// aperture; <see cref="PageTableStatus.AlreadyMapped"/> when it overlaps a reserved range (reserved IOVAs are
    /// in use by the platform; <see cref="CheckRange"/> tells the two apart); or the page table's failure.
    /// </returns>
    public PageTableStatus TryMap(IovaRange range, ulong pa, Permissions permissions)
    {
        lock (_lock)
        {
            return TryMapCore(range, pa, permissions);
        }
    }

    // Called with _lock held.
    private PageTableStatus TryMapCore(IovaRange range, ulong pa, Permissions permissions)
    {
        switch (CheckRange(range))
        {
            case DomainRangeStatus.OutsideAperture:
                return PageTableStatus.BeyondWidth;
            case DomainRangeStatus.Reserved:
                return PageTableStatus.AlreadyMapped;
        }

        PageTableStatus status = PageTable.TryMap(range, pa, permissions);
        if (status == PageTableStatus.Ok)
        {
            Generation++;
        }

        return status;
    }

    /// <summary>Maps like <see cref="TryMap"/>; throws on failure.</summary>
    /// <exception cref="InvalidOperationException">The map failed; the message names the range and the status.</exception>
    public void Map(IovaRange range, ulong pa, Permissions permissions)
    {
        PageTableStatus status = TryMap(range, pa, permissions);
        if (status != PageTableStatus.Ok)
        {
            ThrowHelper.ThrowInvalidOperation(
                $"map of {range} to {ThrowHelper.Hex(pa)} ({permissions}) failed: {status} (aperture {Aperture}, {CheckRange(range)})");
        }
    }

    /// <summary>
    /// Clears the PTEs of <paramref name="range"/>. Does NOT invalidate the IOTLB (unless
    /// <see cref="IommuDomainOptions.FlushOnUnmap"/>): cached entries keep translating until a flush.
    /// </summary>
    public UnmapResult Unmap(IovaRange range)
    {
        lock (_lock)
        {
            return UnmapCore(range);
        }
    }

    // Called with _lock held.
    private UnmapResult UnmapCore(IovaRange range)
    {
        UnmapResult result = PageTable.Unmap(range);
        if (result.BytesUnmapped == 0)
        {
            return result;
        }

        BeginWrite();
        Generation++;
        if (_flushOnUnmap)
        {
            FlushCore(range);
        }
        else if (_unflushed.Count < MaxUnflushedUnmaps)
        {
            _unflushed.Add((range, Generation));
        }
        else
        {
            _unflushedOverflow = true;
        }

        EndWrite();
        return result;
    }

    /// <summary>Clears the PTEs of <paramref name="range"/> and invalidates the range in the IOTLB before returning.</summary>
    public UnmapResult UnmapAndFlush(IovaRange range)
    {
        lock (_lock)
        {
            return UnmapAndFlushCore(range);
        }
    }

    // Called with _lock held.
    private UnmapResult UnmapAndFlushCore(IovaRange range)
    {
        UnmapResult result = PageTable.Unmap(range);
        if (result.BytesUnmapped != 0)
        {
            Generation++;
        }

        FlushCore(range);
        return result;
    }

    /// <summary>
    /// Translates a DMA access of <paramref name="access"/> at <paramref name="iova"/> by device
    /// <paramref name="deviceId"/>: IOTLB first, page walk and fill on a miss. A fault is logged in
    /// <see cref="Faults"/> and returned. Zero allocation (after the calling thread's first IOTLB hit on this
    /// domain, which creates the thread's hit counters once). An IOTLB hit takes no lock (see the remarks).
    /// </summary>
    public DmaTranslation Translate(ulong iova, DmaAccess access, int deviceId = 0)
    {
        // Lock-free IOTLB hit (sequence-lock reader, see the threading remarks). Anything else, or a writer seen
        // mid-change, goes the locked way, which counts and decides afresh.
        Iotlb iotlb = Iotlb;
        Iotlb.ThreadCounters? counters = iotlb.CurrentThreadCounters(); // first: the thread-local read is a call
        long sequence = Volatile.Read(ref _sequence);
        if ((sequence & 1) == 0 && iova < _fastLimit)
        {
            if (iotlb.Peek(iova, out int slot, out int set, out ulong pa, out Permissions perms, out ulong leafSize))
            {
                Volatile.ReadBarrier(); // the reads above complete before the sequence is read again
                if (Allows(perms, access) && Volatile.Read(ref _sequence) == sequence)
                {
                    var hit = DmaTranslation.Success(pa, perms, leafSize, fromIotlb: true);
                    iotlb.CountFastHit(slot, set, counters);
                    return hit;
                }
            }
        }

        return TranslateLocked(iova, access, deviceId);
    }

    // Out of line so the lock-free hit above keeps a small frame.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private DmaTranslation TranslateLocked(ulong iova, DmaAccess access, int deviceId)
    {
        lock (_lock)
        {
            return TranslateCore(iova, access, deviceId);
        }
    }

    // Called with _lock held.
    private DmaTranslation TranslateCore(ulong iova, DmaAccess access, int deviceId = 0)
    {
        _lockedTranslations++;
        if (iova > _widthLast)
        {
            return Fault(iova, access, DmaFaultReason.BeyondWidth, deviceId, fromIotlb: false);
        }

        Iotlb iotlb = Iotlb;
        int slot = iotlb.LookupSlot(iova);
        if (slot >= 0)
        {
            Permissions perms = iotlb.SlotPermissions(slot);
            if (!Allows(perms, access))
            {
                return Fault(iova, access, PermissionFault(perms, access), deviceId, fromIotlb: true);
            }

            bool stale = (_unflushed.Count != 0 || _unflushedOverflow) && IsStale(iova, slot);
            return DmaTranslation.Success(iotlb.SlotPa(slot, iova), perms, iotlb.SlotLeafSize(slot), fromIotlb: true, stale);
        }

        Iotlb.RecordWalk();
        PageTranslation t = PageTable.Translate(iova);
        if (!t.IsPresent)
        {
            // A walk that ends on an unreadable or malformed entry is a translation fault too: not present.
            return Fault(iova, access, t.IsBeyondWidth ? DmaFaultReason.BeyondWidth : DmaFaultReason.NotPresent, deviceId, fromIotlb: false);
        }

        if (!Allows(t.Permissions, access))
        {
            return Fault(iova, access, PermissionFault(t.Permissions, access), deviceId, fromIotlb: false);
        }

        // The leaf is LeafSize aligned in both spaces: iova & ~(size - 1) is its base.
        BeginWrite();
        Iotlb.Fill(iova & ~(t.LeafSize - 1), t.LeafPa, BitOperations.TrailingZeroCount(t.LeafSize), t.Permissions, Generation);
        EndWrite();
        return DmaTranslation.Success(t.Pa, t.Permissions, t.LeafSize, fromIotlb: false);
    }

    /// <summary>Invalidates the whole IOTLB (VT-d global invalidation).</summary>
    public void FlushAll()
    {
        lock (_lock)
        {
            FlushAllCore();
        }
    }

    // Called with _lock held.
    private void FlushAllCore()
    {
        BeginWrite();
        Iotlb.InvalidateAll();
        _unflushed.Clear();
        _unflushedOverflow = false;
        EndWrite();
    }

    /// <summary>Invalidates every IOTLB entry overlapping <paramref name="range"/>; costs the IOTLB's size, not the range's.</summary>
    public void Flush(IovaRange range)
    {
        lock (_lock)
        {
            FlushCore(range);
        }
    }

    // Called with _lock held.
    private void FlushCore(IovaRange range)
    {
        BeginWrite();
        Iotlb.Invalidate(range);
        if (_unflushed.Count != 0)
        {
            ForgetUnflushedInside(range);
        }

        EndWrite();
    }

    /// <summary>Invalidates every IOTLB entry containing <paramref name="iova"/> (VT-d page-selective invalidation).</summary>
    public void FlushPage(ulong iova)
    {
        lock (_lock)
        {
            FlushPageCore(iova);
        }
    }

    // Called with _lock held.
    private void FlushPageCore(ulong iova)
    {
        BeginWrite();
        Iotlb.InvalidatePage(iova);
        if (_unflushed.Count != 0)
        {
            // Any entry covering an address of this smallest page contains iova too, so it is gone.
            ulong smallest = PageSizes.Smallest;
            ForgetUnflushedInside(IovaRange.FromStartSize(iova & ~(smallest - 1), smallest));
        }

        EndWrite();
    }

    /// <summary>
    /// Holds the writer lock and the write section for a run of writes from one caller (a container's unmap-all: one
    /// unmap and flush per record, each exactly as on its own): the calls inside re-enter both cheaply instead of
    /// taking the lock and publishing the sequence each time. Lock-free IOTLB hits on other threads meanwhile take
    /// the locked path and wait for <see cref="EndWriteBatch"/>. Pair with <see cref="EndWriteBatch"/> in a finally.
    /// </summary>
    internal void BeginWriteBatch()
    {
        _lock.Enter();
        BeginWrite();
    }

    /// <summary>Ends <see cref="BeginWriteBatch"/>: the write section is published and the lock released.</summary>
    internal void EndWriteBatch()
    {
        EndWrite();
        _lock.Exit();
    }

    // Called with _lock held. Drops the unflushed-unmap records a flush of range made harmless. A method of its own so
    // the lambda's closure is allocated only when there are records (a captured parameter allocates at entry).
    private void ForgetUnflushedInside(IovaRange range) => _unflushed.RemoveAll(u => range.Contains(u.Range));

    // Called with _lock held (writers are serialised, so a plain read of _sequence is the current value).
    // Sequence counts may nest (a flush inside an unmap): only the outermost pair changes the sequence.
    private void BeginWrite()
    {
        if (_writeDepth++ == 0)
        {
            Volatile.Write(ref _sequence, _sequence + 1); // odd: readers will retry
            Volatile.WriteBarrier(); // ... and it is visible before any store that follows
        }
    }

    // Called with _lock held, after BeginWrite.
    private void EndWrite()
    {
        if (--_writeDepth == 0)
        {
            _fastLimit = FastLimit(_unflushed.Count != 0 || _unflushedOverflow);
            Volatile.Write(ref _sequence, _sequence + 1); // release: every store above is visible first
        }
    }

    // widthLast + 1 cannot overflow below 2^64 - 1.
    private ulong FastLimit(bool staleTracking) => staleTracking ? 0 : _widthLast == ulong.MaxValue ? ulong.MaxValue : _widthLast + 1;

    private static bool Allows(Permissions permissions, DmaAccess access) =>
        ((int)access & ~(int)permissions) == 0; // DmaAccess.Read/Write share the bit values of Permissions.Read/Write

    private static DmaFaultReason PermissionFault(Permissions permissions, DmaAccess access) =>
        (access & DmaAccess.Read) != 0 && (permissions & Permissions.Read) == 0
            ? DmaFaultReason.ReadOfWriteOnly
            : DmaFaultReason.WriteToReadOnly;

    private DmaTranslation Fault(ulong iova, DmaAccess access, DmaFaultReason reason, int deviceId, bool fromIotlb) =>
        DmaTranslation.Faulted(Faults.Report(iova, access, reason, deviceId), fromIotlb);

    private bool IsStale(ulong iova, int slot)
    {
        bool stale = false;
        if (_unflushedOverflow)
        {
            PageTranslation t = PageTable.Translate(iova);
            stale = !t.IsPresent || t.Pa != Iotlb.SlotPa(slot, iova) || t.Permissions != Iotlb.SlotPermissions(slot);
        }
        else
        {
            long entryGeneration = Iotlb.SlotGeneration(slot);
            foreach ((IovaRange range, long generation) in _unflushed)
            {
                if (generation > entryGeneration && range.Contains(iova))
                {
                    stale = true;
                    break;
                }
            }
        }

        if (stale)
        {
            StaleHits++;
        }

        return stale;
    }
}
