using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.PageTables;

namespace IommuKit.Vfio;

/// <content>The IOMMU-domain side of the container: pinning, mapping, replay on attach.</content>
public sealed partial class VfioContainer
{
    private readonly List<IVfioDomain> _domains = [];
    private readonly List<IommuDomain> _iommuDomains = [];

    /// <summary>The attached <see cref="IommuDomain"/>s, in attach order; every record is mapped in each.</summary>
    public IReadOnlyList<IommuDomain> Domains => _iommuDomains;

    /// <summary>
    /// Attaches a group's IOMMU domain (the domain half of <c>VFIO_GROUP_SET_CONTAINER</c> +
    /// <c>VFIO_SET_IOMMU</c>): narrows the valid IOVA list to the domain's aperture minus its reserved ranges, replays
    /// every existing mapping into it (pinning them first if this is the first domain) and recomputes
    /// <see cref="PgsizeBitmap"/>. All-or-nothing.
    /// </summary>
    /// <returns>
    /// <see cref="Errno.Ok"/>; EINVAL before <see cref="SetIommu"/>; EBUSY while any vaddr is invalid; EINVAL when
    /// the aperture is disjoint from the current valid list, cuts off an existing mapping, a reserved range overlaps a
    /// mapping, or nothing valid would remain; EFAULT when a mapping's memory cannot be pinned; or the errno of a
    /// failed replay map (linux-vfio-iommufd.md §1.5).
    /// </returns>
    /// <exception cref="InvalidOperationException">The domain is already attached.</exception>
    public Errno AttachDomain(IommuDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (_iommuDomains.Contains(domain))
        {
            ThrowHelper.ThrowInvalidOperation("the domain is already attached to this container");
        }

        Errno attached = AttachDomain(new IommuDomainAdapter(domain));
        if (attached == Errno.Ok)
        {
            _iommuDomains.Add(domain);
        }

        return attached;
    }

    /// <summary>Attaches any <see cref="IVfioDomain"/> (see <see cref="AttachDomain(IommuDomain)"/>).</summary>
    internal Errno AttachDomain(IVfioDomain domain)
    {
        ArgumentNullException.ThrowIfNull(domain);
        if (IommuType is null)
        {
            return Errno.EINVAL;
        }

        if (_domains.Contains(domain))
        {
            ThrowHelper.ThrowInvalidOperation("the domain is already attached to this container");
        }

        if (_vaddrInvalidCount > 0)
        {
            return Errno.EBUSY;
        }

        IovaRange aperture = domain.Aperture;
        if (ApertureConflicts(aperture))
        {
            return Errno.EINVAL;
        }

        foreach (IovaRange reserved in domain.Reserved)
        {
            if (_dmas.Overlaps(reserved))
            {
                return Errno.EINVAL;
            }
        }

        List<IovaRange>? newList = NarrowIovaList(aperture, domain.Reserved);
        if (newList is null)
        {
            return Errno.EINVAL;
        }

        // Replay: pin first if nothing is pinned yet, then map each record; undo everything on failure.
        bool firstDomain = _domains.Count == 0;
        var done = new List<RangeMapEntry<int>>();
        Errno error = Errno.Ok;
        foreach (RangeMapEntry<int> e in _dmas)
        {
            DmaRecord r = _records[e.Value];
            ulong va = firstDomain ? r.Vaddr : r.PinnedVaddr!.Value;
            IovaRange vaRange = IovaRange.FromStartSize(va, e.Range.Size);
            if (firstDomain)
            {
                error = Host.Pin(vaRange, r.Write);
                if (error != Errno.Ok)
                {
                    break;
                }
            }

            error = MapInto(domain, e.Range, va, r);
            if (error != Errno.Ok)
            {
                if (firstDomain)
                {
                    Host.Unpin(vaRange);
                }

                break;
            }

            done.Add(e);
        }

        if (error != Errno.Ok)
        {
            foreach (RangeMapEntry<int> e in done)
            {
                domain.UnmapAndFlush(e.Range);
                if (firstDomain)
                {
                    Host.Unpin(IovaRange.FromStartSize(_records[e.Value].Vaddr, e.Range.Size));
                }
            }

            return error;
        }

        if (firstDomain)
        {
            foreach (RangeMapEntry<int> e in done)
            {
                DmaRecord r = _records[e.Value];
                r.PinnedVaddr = r.Vaddr;
            }
        }

        _domains.Add(domain);
        _iovaList = newList;
        UpdatePgsizeBitmap();
        return Errno.Ok;
    }

    // vfio_iommu_aper_conflict: only a non-empty list can conflict.
    private bool ApertureConflicts(IovaRange aperture)
    {
        if (_iovaList.Count == 0)
        {
            return false;
        }

        IovaRange first = _iovaList[0];
        IovaRange last = _iovaList[^1];
        if (aperture.First > last.Last || aperture.Last < first.First)
        {
            return true; // disjoint
        }

        if (aperture.First > first.First && _dmas.Overlaps(IovaRange.FromFirstLast(first.First, aperture.First - 1)))
        {
            return true; // a mapping below the new start (aperture.First > first.First >= 0, so no underflow)
        }

        return aperture.Last < last.Last && _dmas.Overlaps(IovaRange.FromFirstLast(aperture.Last + 1, last.Last));
    }

    // vfio_iommu_aper_resize + vfio_iommu_resv_exclude: null when nothing valid remains.
    private List<IovaRange>? NarrowIovaList(IovaRange aperture, IReadOnlyList<IovaRange> reserved)
    {
        var list = new List<IovaRange>();
        if (_iovaList.Count == 0)
        {
            list.Add(aperture);
        }
        else
        {
            foreach (IovaRange r in _iovaList)
            {
                if (r.TryIntersect(aperture, out IovaRange kept))
                {
                    list.Add(kept);
                }
            }
        }

        foreach (IovaRange resv in reserved)
        {
            var next = new List<IovaRange>(list.Count + 1);
            foreach (IovaRange r in list)
            {
                (IovaRange? below, IovaRange? above) = r.Subtract(resv);
                if (below is { } b)
                {
                    next.Add(b);
                }

                if (above is { } a)
                {
                    next.Add(a);
                }
            }

            list = next;
        }

        return list.Count == 0 ? null : list;
    }

    // vfio_update_pgsize_bitmap.
    private void UpdatePgsizeBitmap() => _pgsizeBitmap = CombinePgsizeBitmaps(_domains.Select(d => d.PageSizes.Bitmap));

    /// <summary>
    /// The container's <c>pgsize_bitmap</c> for domains with <paramref name="bitmaps"/>: their AND (PAGE_MASK for
    /// none), and when that has sizes below PAGE_SIZE they are hidden and PAGE_SIZE is forced in their place.
    /// </summary>
    internal static ulong CombinePgsizeBitmaps(IEnumerable<ulong> bitmaps)
    {
        ulong bitmap = ulong.MaxValue;
        foreach (ulong b in bitmaps)
        {
            bitmap &= b;
        }

        if ((bitmap & ~PageMask) != 0)
        {
            bitmap = (bitmap & PageMask) | PageSize;
        }

        return bitmap;
    }

    // Pins the record's pages and maps them into every domain; all-or-nothing. With no domain nothing is pinned.
    private Errno PinAndMap(IovaRange iova, DmaRecord record)
    {
        if (_domains.Count == 0)
        {
            return Errno.Ok;
        }

        IovaRange va = IovaRange.FromStartSize(record.Vaddr, iova.Size);
        Errno error = Host.Pin(va, record.Write);
        if (error != Errno.Ok)
        {
            return error;
        }

        for (int i = 0; i < _domains.Count; i++)
        {
            error = MapInto(_domains[i], iova, record.Vaddr, record);
            if (error != Errno.Ok)
            {
                for (int j = 0; j < i; j++)
                {
                    _domains[j].UnmapAndFlush(iova);
                }

                Host.Unpin(va);
                return error;
            }
        }

        record.PinnedVaddr = record.Vaddr;
        return Errno.Ok;
    }

    // Maps iova to the host frames behind the pinned pages at va, one physically contiguous run at a time (the
    // domain picks the largest leaves each run's alignment allows). All-or-nothing within this domain.
    private Errno MapInto(IVfioDomain domain, IovaRange iova, ulong va, DmaRecord record)
    {
        Permissions perms = (record.Read ? Permissions.Read : Permissions.None) | (record.Write ? Permissions.Write : Permissions.None);
        ulong pos = iova.First;
        ulong vaPos = va;
        while (true)
        {
            if (!Host.TryGetPhysicalRun(vaPos, out ulong pa, out IovaRange run))
            {
                ThrowHelper.ThrowInvalidOperation($"pinned vaddr {ThrowHelper.Hex(vaPos)} has no backing");
            }

            // The chunk ends at the run's end or the mapping's end, whichever comes first (differences, no overflow).
            ulong span = Math.Min(run.Last - vaPos, iova.Last - pos);
            IovaRange chunk = IovaRange.FromFirstLast(pos, pos + span);
            PageTableStatus status = domain.TryMap(chunk, pa, perms);
            if (status == PageTableStatus.UnsupportedPermissions && perms == Permissions.Write)
            {
                // Formats without a write-only encoding (ARM LPAE) map IOMMU_WRITE as read-write, as io-pgtable does.
                status = domain.TryMap(chunk, pa, Permissions.ReadWrite);
            }

            if (status != PageTableStatus.Ok)
            {
                if (pos > iova.First)
                {
                    domain.UnmapAndFlush(IovaRange.FromFirstLast(iova.First, pos - 1));
                }

                return ToErrno(status);
            }

            if (chunk.Last == iova.Last)
            {
                return Errno.Ok;
            }

            pos = chunk.Last + 1; // chunk.Last < iova.Last
            vaPos += span + 1; // stays inside the pinned VA range, which does not wrap
        }
    }

    // iommu_map failures as userspace sees them through type1.
    private static Errno ToErrno(PageTableStatus status) => status switch
    {
        PageTableStatus.OutOfFrames => Errno.ENOMEM,
        PageTableStatus.BeyondWidth or PageTableStatus.PhysicalAddressBeyondWidth => Errno.EFAULT, // VT-d: past the domain width
        PageTableStatus.AlreadyMapped => Errno.EEXIST,
        _ => Errno.EINVAL,
    };

    // Unmaps the record from every domain (flushing each IOTLB before returning) and drops its pins.
    private void UnmapAndUnpin(IovaRange iova, DmaRecord record)
    {
        if (record.PinnedVaddr is ulong va)
        {
            foreach (IVfioDomain d in _domains)
            {
                d.UnmapAndFlush(iova);
            }

            Host.Unpin(IovaRange.FromStartSize(va, iova.Size));
            record.PinnedVaddr = null;
        }
    }

    // IommuDomain as type1 sees it.
    private sealed class IommuDomainAdapter(IommuDomain domain) : IVfioDomain
    {
        public PageSizes PageSizes => domain.PageSizes;

        public IovaRange Aperture => domain.Aperture;

        public IReadOnlyList<IovaRange> Reserved => domain.Reserved;

        public bool EnforcesCacheCoherency => domain.EnforcesCacheCoherency;

        public PageTableStatus TryMap(IovaRange iova, ulong pa, Permissions permissions) => domain.TryMap(iova, pa, permissions);

        public void UnmapAndFlush(IovaRange iova) => domain.UnmapAndFlush(iova);

        public void BeginBatch() => domain.BeginWriteBatch();

        public void EndBatch() => domain.EndWriteBatch();
    }
}
