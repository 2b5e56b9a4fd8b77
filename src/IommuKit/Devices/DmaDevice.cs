using IommuKit.Guest.Vtd;
using IommuKit.Iommu;
using IommuKit.Memory;

namespace IommuKit.Devices;

/// <summary>
/// A DMA-capable device: reads and writes any length at any IOVA, through the guest vIOMMU (when it sits behind one)
/// and then the host DMA path, into host memory.
/// </summary>
/// <remarks>
/// <para>An access is all or nothing: every page is translated through both stages first (guest IOTLB and faults,
/// stage <c>guest</c>; then the host path, stage <c>host</c>); the first refusal is returned and NOTHING is
/// transferred. Only then are bytes copied, per contiguous piece, and written pieces reported to the dirty tracker.
/// A piece ends at the end of the smaller of the guest leaf and the host leaf, so an access crossing page or leaf
/// boundaries is split exactly where the translations change.</para>
/// <para>Host memory that is not backed behind a successful translation is refused as a host-stage not-present
/// fault (recorded in no log; sequence -1).</para>
/// <para>Stale detection: when a page was served by a guest IOTLB entry the guest had unmapped without
/// invalidating, or by a host IOTLB entry the host unmapped without flushing, and the access as a whole succeeded,
/// the access counts once in <see cref="StaleAccesses"/> and each such page is reported in
/// <see cref="StaleReports"/> with the unmap that caused it.</para>
/// <para>Steady-state accesses allocate nothing (the piece buffer is reused) and copy with span copies straight
/// from and into the host memory's page storage: the backing was checked once per piece while translating, so the
/// copy does no range check or backing search of its own. Not thread-safe.</para>
/// </remarks>
public sealed class DmaDevice
{
    private readonly List<StaleDmaAccess> _staleReports = [];
    private ulong[] _piecePa = new ulong[16];
    private ulong[] _pieceIova = new ulong[16];
    private ulong[] _pieceLength = new ulong[16];
    private int _pieces;

    /// <summary>Creates a device.</summary>
    /// <param name="name">A name for traces.</param>
    /// <param name="host">The host DMA path (a container's domain).</param>
    /// <param name="guest">The vIOMMU address space the device sits behind, or null for a device behind <c>none</c>.</param>
    /// <param name="hostIova">What address the host stage sees for a device behind the guest vIOMMU.</param>
    /// <param name="sourceId">The requester id for host faults when there is no guest space (with one, its source id is used).</param>
    public DmaDevice(string name, IHostDmaPath host, VtdDeviceSpace? guest = null, HostIovaSource hostIova = HostIovaSource.GuestPhysical, int sourceId = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(host);
        Name = name;
        Host = host;
        Guest = guest;
        HostIova = hostIova;
        SourceId = guest?.SourceId ?? sourceId;
    }

    /// <summary>The device's name.</summary>
    public string Name { get; }

    /// <summary>The requester id (VT-d source id).</summary>
    public int SourceId { get; }

    /// <summary>The host DMA path.</summary>
    public IHostDmaPath Host { get; }

    /// <summary>The vIOMMU address space, or null.</summary>
    public VtdDeviceSpace? Guest { get; }

    /// <summary>What the host stage sees.</summary>
    public HostIovaSource HostIova { get; }

    /// <summary>Told about every written piece, in host IOVAs; null for none.</summary>
    public IDmaDirtyTracker? DirtyTracker { get; set; }

    /// <summary>Accesses that succeeded through at least one stale IOTLB entry.</summary>
    public long StaleAccesses { get; private set; }

    /// <summary>Every stale page seen by a successful access, oldest first.</summary>
    public IReadOnlyList<StaleDmaAccess> StaleReports => _staleReports;

    /// <summary>Accesses done (successful or not).</summary>
    public long Accesses { get; private set; }

    /// <summary>Reads <paramref name="destination"/>.Length bytes at <paramref name="iova"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The access passes 2^64 - 1.</exception>
    public DmaResult Read(ulong iova, Span<byte> destination)
    {
        DmaResult check = Prepare(iova, (ulong)destination.Length, DmaAccess.Read);
        if (!check.IsOk)
        {
            return check;
        }

        PhysicalMemory memory = Host.Memory;
        int done = 0;
        for (int i = 0; i < _pieces; i++)
        {
            int n = (int)_pieceLength[i]; // a piece is part of the span, so it fits in an int
            CopyFromMemory(memory, _piecePa[i], destination.Slice(done, n));
            done += n;
        }

        return check;
    }

    /// <summary>Writes <paramref name="source"/> at <paramref name="iova"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The access passes 2^64 - 1.</exception>
    public DmaResult Write(ulong iova, ReadOnlySpan<byte> source)
    {
        DmaResult check = Prepare(iova, (ulong)source.Length, DmaAccess.Write);
        if (!check.IsOk)
        {
            return check;
        }

        PhysicalMemory memory = Host.Memory;
        int done = 0;
        for (int i = 0; i < _pieces; i++)
        {
            int n = (int)_pieceLength[i];
            CopyToMemory(memory, _piecePa[i], source.Slice(done, n));
            done += n;
        }

        if (DirtyTracker is { } dirty)
        {
            for (int i = 0; i < _pieces; i++)
            {
                dirty.MarkDirty(_pieceIova[i], _pieceLength[i]);
            }
        }

        return check;
    }

    /// <summary>Translates every page of the access through both stages and fills the piece buffer; nothing is transferred.</summary>
    private DmaResult Prepare(ulong iova, ulong length, DmaAccess access)
    {
        Accesses++;
        _pieces = 0;
        if (length == 0)
        {
            return DmaResult.Ok(0, false);
        }

        if (length - 1 > ulong.MaxValue - iova)
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(length),
                $"DMA of {length} bytes at {ThrowHelper.Hex(iova)} passes 2^64 - 1");
        }

        int staleMark = _staleReports.Count;
        bool stale = false;
        ulong cur = iova;
        ulong remaining = length;
        while (remaining != 0)
        {
            ulong guestPa = cur;
            ulong guestLeft = ulong.MaxValue;
            if (Guest is { } g)
            {
                DmaTranslation gt = g.Unit.TranslateDma(g, cur, access, out string? cause);
                if (!gt.IsOk)
                {
                    _staleReports.RemoveRange(staleMark, _staleReports.Count - staleMark);
                    return DmaResult.Faulted(DmaStage.Guest, gt.Fault);
                }

                if (gt.IsStale)
                {
                    stale = true;
                    _staleReports.Add(new StaleDmaAccess(DmaStage.Guest, cur, cause ?? "guest unmap"));
                }

                guestPa = gt.Pa;
                guestLeft = gt.LeafSize - (cur & (gt.LeafSize - 1)); // >= 1, the bytes left in the guest leaf
            }

            ulong hostIova = Guest is not null && HostIova == HostIovaSource.GuestIova ? cur : guestPa;
            DmaTranslation ht = Host.Translate(hostIova, access, SourceId);
            if (!ht.IsOk)
            {
                _staleReports.RemoveRange(staleMark, _staleReports.Count - staleMark);
                return DmaResult.Faulted(DmaStage.Host, ht.Fault);
            }

            if (ht.IsStale)
            {
                stale = true;
                _staleReports.Add(new StaleDmaAccess(DmaStage.Host, hostIova, "host unmap without IOTLB flush"));
            }

            ulong hostLeft = ht.LeafSize - (hostIova & (ht.LeafSize - 1));
            ulong n = Math.Min(remaining, Math.Min(guestLeft, hostLeft));
            if (!Host.Memory.IsBacked(Addressing.IovaRange.FromStartSize(ht.Pa, n)))
            {
                _staleReports.RemoveRange(staleMark, _staleReports.Count - staleMark);
                return DmaResult.Faulted(DmaStage.Host, new DmaFault(hostIova, access, DmaFaultReason.NotPresent, SourceId, -1));
            }

            AddPiece(ht.Pa, hostIova, n);
            remaining -= n;
            cur += n; // wraps to 0 only after the last byte of an access ending at 2^64 - 1, when the loop ends
        }

        if (stale)
        {
            StaleAccesses++;
        }

        return DmaResult.Ok(length, stale);
    }

    /// <summary>
    /// Copies <paramref name="destination"/>.Length bytes from <paramref name="pa"/> page by page straight out of the
    /// page storage (an untouched page reads as zeros). The caller checked that every byte is backed (Prepare).
    /// </summary>
    private static void CopyFromMemory(PhysicalMemory memory, ulong pa, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int offset = (int)(pa & (PhysicalMemory.PageSize - 1));
            int n = Math.Min(PhysicalMemory.PageSize - offset, destination.Length);
            byte[]? page = memory.FindPageArray(pa);
            if (page is null)
            {
                destination[..n].Clear();
            }
            else
            {
                page.AsSpan(offset, n).CopyTo(destination);
            }

            destination = destination[n..];
            pa += (ulong)n; // wraps to 0 only after the last byte of a piece ending at 2^64 - 1, when the loop ends
        }
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="pa"/> page by page straight into the page storage (created on first write). The caller checked that every byte is backed.</summary>
    private static void CopyToMemory(PhysicalMemory memory, ulong pa, ReadOnlySpan<byte> source)
    {
        while (!source.IsEmpty)
        {
            int offset = (int)(pa & (PhysicalMemory.PageSize - 1));
            int n = Math.Min(PhysicalMemory.PageSize - offset, source.Length);
            byte[] page = memory.FindPageArray(pa) ?? memory.GetOrCreatePageArray(pa);
            source[..n].CopyTo(page.AsSpan(offset, n));
            source = source[n..];
            pa += (ulong)n;
        }
    }

    private void AddPiece(ulong pa, ulong hostIova, ulong length)
    {
        // Merge with the previous piece when both sides continue it (a 4K-by-4K walk over contiguous memory).
        if (_pieces > 0)
        {
            int last = _pieces - 1;
            if (_piecePa[last] + _pieceLength[last] == pa && _pieceIova[last] + _pieceLength[last] == hostIova)
            {
                _pieceLength[last] += length;
                return;
            }
        }

        if (_pieces == _piecePa.Length)
        {
            Array.Resize(ref _piecePa, _pieces * 2);
            Array.Resize(ref _pieceIova, _pieces * 2);
            Array.Resize(ref _pieceLength, _pieces * 2);
        }

        _piecePa[_pieces] = pa;
        _pieceIova[_pieces] = hostIova;
        _pieceLength[_pieces] = length;
        _pieces++;
    }
}
