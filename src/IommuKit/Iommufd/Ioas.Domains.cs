using IommuKit.Addressing;
using IommuKit.Linux;

namespace IommuKit.Iommufd;

/// <content>Domain attach/detach, pinning and filling (<c>iopt_table_add_domain</c>, <c>iopt_fill_domain</c>).</content>
public sealed partial class Ioas
{
    private sealed record Attachment(IIoasDomain Domain, object Owner);

    /// <summary>The AND of the attached domains' page-size bitmaps; all ones with no domain (<c>iommufd_get_pagesizes</c>).</summary>
    internal ulong PageSizeBitmap
    {
        get
        {
            ulong bitmap = ulong.MaxValue;
            foreach (Attachment d in _domains)
            {
                bitmap &= d.Domain.PageSizes.Bitmap;
            }

            return bitmap;
        }
    }

    /// <summary>
    /// <c>iopt_table_add_domain</c> plus the device's reserved regions (§2.2): raises the alignment to the domain's
    /// smallest page (EINVAL above PAGE_SIZE, EADDRINUSE when an area does not conform), reserves the aperture complement
    /// <c>[0, aperture_start-1]</c>, <c>[aperture_end+1, U64_MAX]</c> and the domain's reserved regions (EADDRINUSE when
    /// one intersects an area or an allowed range), then pins (EFAULT) and maps every area. All-or-nothing.
    /// </summary>
    internal Errno AttachDomain(IIoasDomain domain, object owner)
    {
        if (_memory is null)
        {
            ThrowHelper.ThrowInvalidOperation("an IOAS needs host memory to attach a domain: create the Iommufd with one");
        }

        ulong smallest = domain.PageSizes.Smallest;
        if (smallest == 0)
        {
            return Errno.EINVAL;
        }

        ulong newAlignment = Math.Max(smallest, IovaAlignment);
        if (newAlignment > PageSize)
        {
            return Errno.EINVAL;
        }

        if (newAlignment != IovaAlignment && !AreasConformTo(newAlignment))
        {
            return Errno.EADDRINUSE;
        }

        var toReserve = new List<IovaRange>();
        if (domain.Aperture.First != 0)
        {
            toReserve.Add(IovaRange.FromFirstLast(0, domain.Aperture.First - 1));
        }

        if (domain.Aperture.Last != ulong.MaxValue)
        {
            toReserve.Add(IovaRange.FromFirstLast(domain.Aperture.Last + 1, ulong.MaxValue));
        }

        toReserve.AddRange(domain.Reserved);
        foreach (IovaRange r in toReserve)
        {
            Errno rc = Reserve(r, owner);
            if (rc != Errno.Ok)
            {
                RemoveReserved(owner);
                return rc;
            }
        }

        // iopt_fill_domain: every area into the new domain; the first domain also pins.
        bool first = _domains.Count == 0;
        var done = new List<RangeMapEntry<IoasArea>>();
        foreach (RangeMapEntry<IoasArea> e in _areas.Overlapping(IovaRange.Full).ToList())
        {
            Errno rc = first ? Pin(e.Range, e.Value) : Errno.Ok;
            if (rc == Errno.Ok)
            {
                rc = MapInto(domain, e.Range, e.Value);
                if (rc != Errno.Ok && first)
                {
                    Unpin(e.Range, e.Value);
                }
            }

            if (rc != Errno.Ok)
            {
                foreach (RangeMapEntry<IoasArea> d in done)
                {
                    domain.Unmap(d.Range);
                    if (first)
                    {
                        Unpin(d.Range, d.Value);
                    }
                }

                RemoveReserved(owner);
                return rc;
            }

            done.Add(e);
        }

        foreach (RangeMapEntry<IoasArea> d in done)
        {
            d.Value.Filled = true;
        }

        _domains.Add(new Attachment(domain, owner));
        IovaAlignment = newAlignment;
        return Errno.Ok;
    }

    /// <summary><c>iopt_table_remove_domain</c>: unmaps every area from the domain, unpins with the last domain, drops the
    /// domain's reserved ranges and recomputes (lowers) the alignment.</summary>
    internal void DetachDomain(object owner)
    {
        int index = _domains.FindIndex(a => ReferenceEquals(a.Owner, owner));
        if (index < 0)
        {
            return;
        }

        IIoasDomain domain = _domains[index].Domain;
        _domains.RemoveAt(index);
        bool last = _domains.Count == 0;
        foreach (RangeMapEntry<IoasArea> e in _areas.Overlapping(IovaRange.Full).ToList())
        {
            if (!e.Value.Filled)
            {
                continue;
            }

            domain.Unmap(e.Range);
            if (last)
            {
                Unpin(e.Range, e.Value);
                e.Value.Filled = false;
            }
        }

        RemoveReserved(owner);
        IovaAlignment = WantedAlignment(DisableLargePages);
    }

    // Pins and maps a new area into every attached domain; all-or-nothing.
    private Errno FillArea(IovaRange range, IoasArea area)
    {
        Errno rc = Pin(range, area);
        if (rc != Errno.Ok)
        {
            return rc;
        }

        for (int i = 0; i < _domains.Count; i++)
        {
            rc = MapInto(_domains[i].Domain, range, area);
            if (rc != Errno.Ok)
            {
                for (int j = 0; j < i; j++)
                {
                    _domains[j].Domain.Unmap(range);
                }

                Unpin(range, area);
                return rc;
            }
        }

        area.Filled = true;
        return Errno.Ok;
    }

    private void UnfillArea(IovaRange range, IoasArea area)
    {
        foreach (Attachment d in _domains)
        {
            d.Domain.Unmap(range);
        }

        Unpin(range, area);
        area.Filled = false;
    }

    // The page-aligned user VA range the area touches.
    private static IovaRange HostPages(IovaRange range, IoasArea area)
    {
        ulong firstPage = area.UserVaAt(0) & ~(PageSize - 1);
        ulong lastByte = area.UserVaAt(range.Size - 1) | (PageSize - 1);
        return IovaRange.FromFirstLast(firstPage, lastByte);
    }

    // Takes one user per host page for the area; the host pin is taken only on a page's first user, so each page is
    // pinned once per pages object however many areas (COPY, split) and domains use it. All-or-nothing (EFAULT).
    private Errno Pin(IovaRange range, IoasArea area)
    {
        IovaRange pages = HostPages(range, area);
        if (!_memory!.IsAccessible(pages, area.Pages.Writable))
        {
            return Errno.EFAULT;
        }

        var fresh = new List<ulong>();
        ForEachPage(pages, page =>
        {
            area.Pages.PageUsers.TryGetValue(page, out int users);
            if (users == 0)
            {
                fresh.Add(page);
            }

            area.Pages.PageUsers[page] = users + 1;
        });
        foreach (IovaRange run in Runs(fresh))
        {
            _memory.Pin(run, area.Pages.Writable); // cannot fail: the whole range was checked accessible
        }

        return Errno.Ok;
    }

    private void Unpin(IovaRange range, IoasArea area)
    {
        var released = new List<ulong>();
        ForEachPage(HostPages(range, area), page =>
        {
            int users = area.Pages.PageUsers[page] - 1;
            if (users == 0)
            {
                area.Pages.PageUsers.Remove(page);
                released.Add(page);
            }
            else
            {
                area.Pages.PageUsers[page] = users;
            }
        });
        foreach (IovaRange run in Runs(released))
        {
            _memory!.Unpin(run);
        }
    }

    private static void ForEachPage(IovaRange pages, Action<ulong> action)
    {
        for (ulong p = pages.First; ; p += PageSize)
        {
            action(p);
            if (p == (pages.Last & ~(PageSize - 1)))
            {
                return; // stops before p + PageSize could pass 2^64-1
            }
        }
    }

    // Ascending page VAs grouped into contiguous page-aligned ranges.
    private static List<IovaRange> Runs(List<ulong> pages)
    {
        var runs = new List<IovaRange>();
        int i = 0;
        while (i < pages.Count)
        {
            ulong first = pages[i];
            ulong last = first;
            i++;
            while (i < pages.Count && pages[i] - last == PageSize)
            {
                last = pages[i];
                i++;
            }

            runs.Add(IovaRange.FromFirstLast(first, last | (PageSize - 1)));
        }

        return runs;
    }

    // Maps the area into one domain in physically contiguous runs (one host page per call when huge pages are off, as
    // the kernel's batch_iommu_map_small); on failure unmaps what this call mapped.
    private Errno MapInto(IIoasDomain domain, IovaRange range, IoasArea area)
    {
        UInt128 offset = 0;
        UInt128 size = range.Size;
        while (offset < size)
        {
            ulong va = area.UserVaAt(offset);
            ulong iova = (ulong)(range.First + offset); // inside the area, so it fits
            if (!_memory!.TryGetPhysicalRun(va, out ulong pa, out IovaRange run))
            {
                return Undo(Errno.EFAULT, iova);
            }

            UInt128 length = UInt128.Min(run.Size, size - offset);
            if (DisableLargePages)
            {
                length = UInt128.Min(length, PageSize - (va % PageSize));
            }

            Errno rc = domain.Map(IovaRange.FromStartSize(iova, length), pa, area.Readable, area.Writeable);
            if (rc != Errno.Ok)
            {
                return Undo(rc, iova);
            }

            offset += length;
        }

        return Errno.Ok;

        Errno Undo(Errno rc, ulong failedIova)
        {
            if (failedIova > range.First)
            {
                domain.Unmap(IovaRange.FromFirstLast(range.First, failedIova - 1));
            }

            return rc;
        }
    }
}
