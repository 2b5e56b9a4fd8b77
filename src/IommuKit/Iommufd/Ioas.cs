using System.Numerics;
using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.PageTables;

namespace IommuKit.Iommufd;

/// <summary>
/// An iommufd I/O address space (the kernel's <c>iommufd_ioas</c> and its <c>io_pagetable</c>): areas, reserved and
/// allowed ranges, the IOVA alignment, attached domains and the pins they need. Created by
/// <see cref="Iommufd.IoasAlloc"/>.
/// </summary>
/// <remarks>
/// <para>State (linux-vfio-iommufd.md §2.2): areas in a <see cref="RangeMap{T}"/> (one per MAP, one per COPY piece,
/// never merged); reserved ranges from several owners (domain aperture complements, device regions, <see cref="Reserve(IovaRange)"/>)
/// kept per owner and indexed as their union; allowed ranges (ALLOW_IOVAS, disjoint) that constrain only automatic
/// allocation and forbid later reservations. <see cref="IovaAlignment"/> starts at 1 (byte-granular IOVAs with no domain)
/// and is the maximum of every domain's smallest page and PAGE_SIZE while huge pages are disabled.</para>
/// <para>Pinning is lazy: with no domain a MAP only records the user VA. With domains each area is "filled": its pages are
/// pinned once per pages object and mapped into every domain.</para>
/// <para>Every call is all-or-nothing except the kernel's documented partial unmap (§2.5: a later area sticking out of
/// the range), which <see cref="Iommufd.IoasUnmap"/> reproduces and the native <see cref="Unmap(IovaRange)"/> does not.</para>
/// <para>The native <see cref="Map(IovaRange, ulong, Permissions)"/> and <see cref="Unmap(IovaRange)"/> take inclusive <see cref="IovaRange"/>s, so the whole
/// 2^64 space is one call (the UAPI needs two maps, §5). A VFIO listener should prefer them.</para>
/// </remarks>
public sealed partial class Ioas
{
    /// <summary>PAGE_SIZE of the modelled host (x86-64): 4 KiB.</summary>
    public const ulong PageSize = PageSizes.Size4K;

    /// <summary>The THP cap of automatic allocation when transparent huge pages are configured: HPAGE_SIZE = 2 MiB.</summary>
    public const ulong HugePageSize = PageSizes.Size2M;

    private readonly RangeMap<IoasArea> _areas = new();
    private readonly List<(IovaRange Range, object Owner)> _reservedList = [];
    private readonly RangeMap<bool> _reservedUnion = new();
    private RangeMap<bool> _allowed = new();
    private readonly List<Attachment> _domains = [];
    private readonly HostMemory? _memory;
    private readonly ulong _maxAllocAlignment;

    internal Ioas(uint id, HostMemory? memory, bool transparentHugePages)
    {
        Id = id;
        _memory = memory;
        _maxAllocAlignment = transparentHugePages ? HugePageSize : PageSize;
    }

    /// <summary>The object id of this IOAS in its <see cref="Iommufd"/>.</summary>
    public uint Id { get; }

    /// <summary>The alignment every IOVA, length and sub-page offset must respect: 1 .. PAGE_SIZE.</summary>
    public ulong IovaAlignment { get; private set; } = 1;

    /// <summary><c>IOMMU_OPTION_HUGE_PAGES</c>: true (default) unless disabled (VFIO compat v1 disables it).</summary>
    public bool HugePages => !DisableLargePages;

    /// <summary>The number of attached domains.</summary>
    public int DomainCount => _domains.Count;

    /// <summary>The areas, ascending.</summary>
    public IReadOnlyList<IoasMapping> Mappings
    {
        get
        {
            var list = new List<IoasMapping>(_areas.Count);
            foreach (RangeMapEntry<IoasArea> e in _areas)
            {
                list.Add(new IoasMapping(e.Range, e.Value.UserVaAt(0), e.Value.Permissions));
            }

            return list;
        }
    }

    /// <summary>The union of every reserved range, ascending, overlapping and touching ranges merged.</summary>
    public IReadOnlyList<IovaRange> ReservedRanges => Spans(_reservedUnion);

    /// <summary>The allowed ranges set by ALLOW_IOVAS, ascending (empty: no constraint).</summary>
    public IReadOnlyList<IovaRange> AllowedRanges
    {
        get
        {
            var list = new List<IovaRange>(_allowed.Count);
            foreach (RangeMapEntry<bool> e in _allowed)
            {
                list.Add(e.Range);
            }

            return list;
        }
    }

    /// <summary>The usable IOVA ranges: the holes of the reserved set over <c>[0, U64_MAX]</c> (what IOVA_RANGES reports).</summary>
    public IReadOnlyList<IovaRange> IovaRanges => Holes(_reservedUnion, null, IovaRange.Full);

    /// <summary>The number of pins this IOAS holds on the host page at <paramref name="pageVa"/> (0 or 1 per pages object).</summary>
    public int PinsOf(ulong pageVa)
    {
        int pins = 0;
        var seen = new HashSet<IoasPages>();
        foreach (RangeMapEntry<IoasArea> e in _areas)
        {
            if (seen.Add(e.Value.Pages) && e.Value.Pages.PageUsers.ContainsKey(pageVa & ~(PageSize - 1)))
            {
                pins++;
            }
        }

        return pins;
    }

    internal bool DisableLargePages { get; private set; }

    internal int AreaCount => _areas.Count;

    /// <summary>The area store (for tests that count the nodes a search visits).</summary>
    internal RangeMap<IoasArea> AreaMap => _areas;

    /// <summary>The areas with their pages objects (for model checks).</summary>
    internal IEnumerable<(IovaRange Range, object Pages, bool Filled, ulong UserVa)> AreaEntries =>
        _areas.Select(e => (e.Range, (object)e.Value.Pages, e.Value.Filled, e.Value.UserVaAt(0)));

    // ---------------------------------------------------------------- native full-range API

    /// <summary>
    /// IommuKit-native map of the inclusive <paramref name="iova"/> range (up to the full 2^64 space, one call) to the
    /// user memory starting at <paramref name="userVa"/>, with the rules of a FIXED_IOVA <c>IOMMU_IOAS_MAP</c>.
    /// </summary>
    /// <remarks>
    /// Errnos: EINVAL for no access, a range or user VA misaligned to <see cref="IovaAlignment"/>, or a reserved IOVA;
    /// EOVERFLOW when the user range <c>[userVa, userVa + size - 1]</c> passes 2^64-1; EEXIST for an existing area;
    /// EFAULT / ENOMEM when a domain is attached and pinning or mapping fails. All-or-nothing.
    /// Unlike the UAPI, <c>size</c> may be 2^64 and the user range may end at 2^64-1.
    /// This (with <see cref="Unmap(IovaRange)"/>) is the primitive a VFIO listener should prefer over the ioctls: a
    /// section of any size, the full space included, is one call and no 128-bit split into u64 halves is needed.
    /// </remarks>
    public Errno Map(IovaRange iova, ulong userVa, Permissions permissions)
    {
        if ((permissions & ~Permissions.ReadWrite) != 0 || permissions == Permissions.None)
        {
            return Errno.EINVAL;
        }

        bool readable = (permissions & Permissions.Read) != 0;
        bool writeable = (permissions & Permissions.Write) != 0;

        // userVa + size - 1 <= 2^64 - 1 <=> size <= 2^64 - userVa, compared in 128 bits (no overflow there).
        if (iova.Size > IovaRange.SpaceSize - userVa)
        {
            return Errno.EOVERFLOW;
        }

        ulong baseVa = userVa & ~(PageSize - 1);
        var pages = new IoasPages(baseVa, (userVa - baseVa) + iova.Size, writeable);
        var slices = new List<Slice> { new(pages, userVa - baseVa, iova.Size) };
        ulong dst = iova.First;
        return MapPages(slices, iova.Size, ref dst, allocate: false, readable, writeable);
    }

    /// <summary>
    /// IommuKit-native unmap of the inclusive <paramref name="range"/>: removes every area inside it and reports the
    /// bytes as a <see cref="UInt128"/> (2^64 for a full space, never wrapped).
    /// </summary>
    /// <remarks>
    /// Rules as <c>IOMMU_IOAS_UNMAP</c> (§2.5) but strictly all-or-nothing: an area crossing either end gives ENOENT
    /// and nothing is removed (the ioctl may already have removed earlier areas); a range covering no area gives ENOENT,
    /// except <see cref="IovaRange.Full"/>, which is unmap-all and succeeds with 0 bytes on an empty IOAS.
    /// The UAPI's u64 <c>length</c> would show a 2^64 total as 0; <see cref="IoasUnmapResult.Bytes"/> shows 2^64.
    /// </remarks>
    public IoasUnmapResult Unmap(IovaRange range)
    {
        foreach (RangeMapEntry<IoasArea> e in _areas.Overlapping(range))
        {
            if (!range.Contains(e.Range))
            {
                return new IoasUnmapResult(Errno.ENOENT, 0);
            }
        }

        Errno rc = UnmapRange(range.First, range.Last, out UInt128 bytes);
        if (rc == Errno.Ok && bytes == 0 && !range.IsFull)
        {
            rc = Errno.ENOENT;
        }

        return new IoasUnmapResult(rc, rc == Errno.Ok ? bytes : 0);
    }

    /// <summary>Removes every area (unmap-all); succeeds on an empty IOAS. Returns the bytes unmapped, up to 2^64.</summary>
    public UInt128 UnmapAll()
    {
        UnmapRange(0, ulong.MaxValue, out UInt128 bytes);
        return bytes;
    }

    /// <summary>
    /// Adds a reserved range as a device would (an MSI window and the like). EADDRINUSE (nothing changed) when it
    /// intersects an area or an allowed range (§2.2, <c>iopt_reserve_iova</c>).
    /// </summary>
    public Errno Reserve(IovaRange range) => Reserve(range, this);

    /// <summary>Sets <c>IOMMU_OPTION_HUGE_PAGES</c>: false disables (EINVAL when domains and areas exist, EADDRINUSE for a
    /// misaligned area, §2.10); true re-enables and recomputes the alignment.</summary>
    public Errno SetHugePages(bool enabled) => enabled ? EnableLargePagesCore() : DisableLargePagesCore();

    // ---------------------------------------------------------------- io_pagetable core

    /// <summary>A slice of a pages object that becomes one area (<c>struct iopt_pages_list</c>).</summary>
    internal readonly record struct Slice(IoasPages Pages, UInt128 StartByte, UInt128 Length);

    /// <summary><c>iopt_map_pages</c>: checks, allocates or checks the IOVA, inserts one area per slice and fills domains.</summary>
    internal Errno MapPages(List<Slice> slices, UInt128 length, ref ulong iova, bool allocate, bool readable, bool writeable)
    {
        // iopt_alloc_area_pages, under the iova lock.
        if (length == 0 || length % IovaAlignment != 0)
        {
            return Errno.EINVAL;
        }

        ulong dst = iova;
        if (allocate)
        {
            Slice first = slices[0];
            ulong uptr = (ulong)(first.Pages.Base + first.StartByte);
            Errno rc = AllocIova(uptr, (ulong)length, out dst);
            if (rc != Errno.Ok)
            {
                return rc;
            }
        }
        else
        {
            Errno rc = CheckIova(dst, length);
            if (rc != Errno.Ok)
            {
                return rc;
            }
        }

        // iopt_insert_area for each slice; validate all before inserting any (the kernel aborts the inserted ones).
        var pending = new List<(IovaRange Range, IoasArea Area)>(slices.Count);
        UInt128 at = dst;
        foreach (Slice s in slices)
        {
            if (writeable && !s.Pages.Writable)
            {
                return Errno.EPERM;
            }

            if ((ulong)(s.StartByte % PageSize) % IovaAlignment != 0)
            {
                return Errno.EINVAL;
            }

            // at + length - 1 <= dst + total - 1, which CheckIova / AllocIova proved fits in 64 bits.
            IovaRange r = IovaRange.FromStartSize((ulong)at, s.Length);
            pending.Add((r, new IoasArea(s.Pages, s.StartByte, readable, writeable)));
            at += s.Length;
        }

        // Fill domains (pin and map) before publishing: a failure leaves nothing behind.
        if (_domains.Count > 0)
        {
            for (int i = 0; i < pending.Count; i++)
            {
                Errno rc = FillArea(pending[i].Range, pending[i].Area);
                if (rc != Errno.Ok)
                {
                    for (int j = 0; j < i; j++)
                    {
                        UnfillArea(pending[j].Range, pending[j].Area);
                    }

                    return rc;
                }
            }
        }

        foreach ((IovaRange r, IoasArea a) in pending)
        {
            a.Pages.Refs++;
            AddAreaEntry(r, a);
        }

        iova = dst;
        return Errno.Ok;
    }

    /// <summary><c>iopt_check_iova</c>: a fixed IOVA must be aligned, not overflow, avoid reserved ranges and areas.</summary>
    internal Errno CheckIova(ulong iova, UInt128 length)
    {
        if ((iova & (IovaAlignment - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        if (!IovaRange.TryFromStartSize(iova, length, out IovaRange range))
        {
            return Errno.EOVERFLOW;
        }

        if (_reservedUnion.Overlaps(range))
        {
            return Errno.EINVAL;
        }

        if (_areas.Overlaps(range))
        {
            return Errno.EEXIST;
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>iopt_alloc_iova</c> (§2.4): first fit, lowest address, in <c>[PAGE_SIZE, U64_MAX - PAGE_SIZE]</c>, inside the
    /// allowed ranges if any, outside reserved ranges and areas, aligned from the length and the user VA (capped at the
    /// THP size), with the user VA's page offset OR-ed in.
    /// </summary>
    /// <remarks>
    /// The holes of <c>reserved ∪ areas</c> are visited in the kernel's order, but holes of the areas smaller than
    /// <paramref name="length"/> (which can never fit) are skipped through the areas' largest-gap index
    /// (<see cref="RangeMap{T}.TryFindGap"/>) instead of being walked: O(log n) per candidate hole at n areas, where the
    /// kernel walks every span. The result is the same IOVA (<see cref="AllocIovaByWalk"/> is the walk, kept as the
    /// reference for tests).
    /// </remarks>
    internal Errno AllocIova(ulong uptr, ulong length, out ulong iova)
    {
        iova = 0;
        if (!TryAllocAlignment(uptr, length, out ulong alignment, out Errno error))
        {
            return error;
        }

        ulong pageOffset = uptr % PageSize;
        IovaRange window = IovaRange.FromFirstLast(PageSize, ulong.MaxValue - PageSize);
        if (_allowed.Count == 0)
        {
            return TryAllocInSpan(window, length, alignment, pageOffset, out iova) ? Errno.Ok : Errno.ENOSPC;
        }

        foreach (IovaRange span in Clip(Spans(_allowed), window))
        {
            if (TryAllocInSpan(span, length, alignment, pageOffset, out iova))
            {
                return Errno.Ok;
            }
        }

        return Errno.ENOSPC;
    }

    // One allowed span: the kernel's span check, then the holes of the reserved union inside it, ascending, and in each
    // the holes of the areas large enough for length, ascending.
    private bool TryAllocInSpan(IovaRange span, ulong length, ulong alignment, ulong pageOffset, out ulong iova)
    {
        iova = 0;
        if (!CheckRange(span.First, span.Last, length, alignment, pageOffset, out ulong start))
        {
            return false;
        }

        IovaRange search = IovaRange.FromFirstLast(start, span.Last); // start < span.Last (CheckRange)
        UInt128 cursor = search.First; // next address not known to be reserved; up to 2^64
        foreach (RangeMapEntry<bool> r in _reservedUnion.Overlapping(search))
        {
            // cursor < r.First <= 2^64-1, so the hole's ends fit in 64 bits.
            if (r.Range.First > cursor && TryAllocInHole((ulong)cursor, r.Range.First - 1, length, alignment, pageOffset, out iova))
            {
                return true;
            }

            cursor = UInt128.Max(cursor, r.Range.End);
        }

        return cursor <= search.Last && TryAllocInHole((ulong)cursor, search.Last, length, alignment, pageOffset, out iova);
    }

    // A hole of the reserved union: the first hole of the areas inside it that holds length bytes and passes CheckRange.
    private bool TryAllocInHole(ulong first, ulong last, ulong length, ulong alignment, ulong pageOffset, out ulong iova)
    {
        iova = 0;
        ulong lo = first;
        while (_areas.TryFindGap(IovaRange.FromFirstLast(lo, last), length, out IovaRange hole))
        {
            if (CheckRange(hole.First, hole.Last, length, alignment, pageOffset, out iova))
            {
                return true;
            }

            if (hole.Last >= last)
            {
                return false;
            }

            lo = hole.Last + 1; // hole.Last < last <= 2^64-1
        }

        return false;
    }

    // The alignment rule of iopt_alloc_iova (§2.4), shared by the indexed search and the walk.
    private bool TryAllocAlignment(ulong uptr, ulong length, out ulong alignment, out Errno error)
    {
        alignment = 0;

        // Protects the power-of-two round-up: length < 2^63 here.
        if (length == 0 || length >= ulong.MaxValue / 2)
        {
            error = Errno.EOVERFLOW;
            return false;
        }

        alignment = BitOperations.RoundUpToPowerOf2(length);
        if (uptr != 0)
        {
            alignment = Math.Min(alignment, 1UL << BitOperations.TrailingZeroCount(uptr));
        }

        if (alignment >= _maxAllocAlignment)
        {
            alignment = _maxAllocAlignment;
        }

        if (alignment < IovaAlignment)
        {
            error = Errno.EINVAL;
            return false;
        }

        error = Errno.Ok;
        return true;
    }

    /// <summary>
    /// <see cref="AllocIova"/> by walking every hole of <c>reserved ∪ areas</c> as the kernel does (linear in the
    /// areas): the reference the indexed search is tested against.
    /// </summary>
    internal Errno AllocIovaByWalk(ulong uptr, ulong length, out ulong iova)
    {
        iova = 0;
        if (!TryAllocAlignment(uptr, length, out ulong alignment, out Errno error))
        {
            return error;
        }

        ulong pageOffset = uptr % PageSize;
        IovaRange window = IovaRange.FromFirstLast(PageSize, ulong.MaxValue - PageSize);
        IReadOnlyList<IovaRange> allowedSpans = _allowed.Count == 0 ? [window] : Clip(Spans(_allowed), window);
        foreach (IovaRange span in allowedSpans)
        {
            if (!CheckRange(span.First, span.Last, length, alignment, pageOffset, out ulong start))
            {
                continue;
            }

            foreach (IovaRange hole in Holes(_reservedUnion, _areas, IovaRange.FromFirstLast(start, span.Last)))
            {
                if (CheckRange(hole.First, hole.Last, length, alignment, pageOffset, out ulong candidate))
                {
                    iova = candidate;
                    return Errno.Ok;
                }
            }
        }

        return Errno.ENOSPC;
    }

    // __alloc_iova_check_range: an overflow-checked ALIGN_UP (the 2025 syzbot "reserved_overflow" fix), then the
    // page offset, then "strictly below last and room for length".
    private static bool CheckRange(ulong first, ulong last, ulong length, ulong alignment, ulong pageOffset, out ulong start)
    {
        start = 0;
        if (first > ulong.MaxValue - (alignment - 1))
        {
            return false;
        }

        // Cannot overflow: checked just above.
        ulong aligned = ((first + (alignment - 1)) & ~(alignment - 1)) | pageOffset;
        if (aligned >= last || last - aligned < length - 1)
        {
            return false;
        }

        start = aligned;
        return true;
    }

    /// <summary>
    /// <c>iopt_unmap_iova_range</c>: removes, lowest first, each area inside <c>[first, last]</c>; an area crossing an end
    /// stops the walk with ENOENT, keeping the removals already done (the §2.5 caveat). An empty range is success with 0.
    /// </summary>
    internal Errno UnmapRange(ulong first, ulong last, out UInt128 unmapped)
    {
        unmapped = 0;
        if (first == 0 && last == ulong.MaxValue)
        {
            unmapped = RemoveAllAreas();
            return Errno.Ok; // no area can cross an end of the whole space
        }

        IovaRange range = IovaRange.FromFirstLast(first, last);
        while (_areas.TryGetFirstOverlapping(range, out RangeMapEntry<IoasArea> e))
        {
            if (e.Range.First < first || e.Range.Last > last)
            {
                return Errno.ENOENT;
            }

            RemoveArea(e.Range, e.Value);
            unmapped += e.Range.Size;
        }

        return Errno.Ok;
    }

    // Unmap of the whole space: what the loop of UnmapRange does for every area, lowest first (each filled area is
    // unmapped from the domains and unpinned in the same order), with the area map and the user-VA index cleared at
    // once instead of searched and shifted per area. O(areas), never the span. Returns the bytes unmapped.
    private UInt128 RemoveAllAreas()
    {
        UInt128 unmapped = 0;
        foreach (RangeMapEntry<IoasArea> e in _areas)
        {
            if (e.Value.Filled)
            {
                UnfillArea(e.Range, e.Value);
            }

            e.Value.Pages.Refs--;
            unmapped += e.Range.Size; // at most 2^64 in total: the areas are disjoint
        }

        // Every area left: the user-VA index held exactly them (AddAreaEntry/RemoveAreaEntry keep it so).
        _areas.Clear();
        _byUserVa.Clear();
        return unmapped;
    }

    private void RemoveArea(IovaRange range, IoasArea area)
    {
        if (area.Filled)
        {
            UnfillArea(range, area);
        }

        RemoveAreaEntry(range, area);
        area.Pages.Refs--;
    }

    /// <summary>
    /// <c>iopt_get_pages</c> (§2.8): the slices of the areas covering <c>[iova, iova + length - 1]</c> contiguously;
    /// ENOENT for a hole, EINVAL for length 0, EOVERFLOW when the end passes 2^64-1.
    /// </summary>
    internal Errno GetPages(ulong iova, ulong length, out List<Slice> slices)
    {
        slices = [];
        if (length == 0)
        {
            return Errno.EINVAL;
        }

        if (!IovaRange.TryFromStartSize(iova, length, out IovaRange range))
        {
            return Errno.EOVERFLOW;
        }

        ulong cur = range.First;
        while (true)
        {
            if (!_areas.TryFind(cur, out RangeMapEntry<IoasArea> e) || (slices.Count > 0 && e.Range.First != cur))
            {
                slices.Clear();
                return Errno.ENOENT;
            }

            ulong pieceLast = Math.Min(range.Last, e.Range.Last);
            UInt128 offset = cur - e.Range.First;
            slices.Add(new Slice(e.Value.Pages, e.Value.StartByte + offset, (UInt128)(pieceLast - cur) + 1));
            if (pieceLast == range.Last)
            {
                return Errno.Ok;
            }

            cur = pieceLast + 1; // pieceLast < range.Last <= 2^64-1, so no overflow.
        }
    }

    /// <summary><c>iopt_set_allow_iova</c> (§2.7): replaces the allowed list; EADDRINUSE (old list kept) when a range
    /// intersects a reserved range. The caller has checked <c>start &lt; last</c> and disjointness (EINVAL).</summary>
    internal Errno SetAllowed(RangeMap<bool> allowed)
    {
        foreach (RangeMapEntry<bool> e in allowed)
        {
            if (_reservedUnion.Overlaps(e.Range))
            {
                return Errno.EADDRINUSE;
            }
        }

        _allowed = allowed;
        return Errno.Ok;
    }

    /// <summary><c>iopt_reserve_iova</c>: EADDRINUSE when the range intersects an area or an allowed range.</summary>
    internal Errno Reserve(IovaRange range, object owner)
    {
        if (_areas.Overlaps(range) || _allowed.Overlaps(range))
        {
            return Errno.EADDRINUSE;
        }

        _reservedList.Add((range, owner));
        RebuildReservedUnion();
        return Errno.Ok;
    }

    internal void RemoveReserved(object owner)
    {
        if (_reservedList.RemoveAll(r => ReferenceEquals(r.Owner, owner)) > 0)
        {
            RebuildReservedUnion();
        }
    }

    private void RebuildReservedUnion()
    {
        _reservedUnion.Clear();
        var sorted = _reservedList.Select(r => r.Range).OrderBy(r => r.First).ToList();
        int i = 0;
        while (i < sorted.Count)
        {
            ulong first = sorted[i].First;
            ulong last = sorted[i].Last;
            i++;

            // Merge overlapping and touching ranges (last + 1 == next.First, written without computing last + 1).
            while (i < sorted.Count && (sorted[i].First <= last || sorted[i].First - 1 == last))
            {
                last = Math.Max(last, sorted[i].Last);
                i++;
            }

            _reservedUnion.Add(IovaRange.FromFirstLast(first, last), true);
        }
    }

    /// <summary><c>iopt_check_iova_alignment</c>: every area's IOVA, length and page offset conform to the new alignment.</summary>
    private bool AreasConformTo(ulong alignment)
    {
        ulong mask = alignment - 1;
        foreach (RangeMapEntry<IoasArea> e in _areas)
        {
            if ((e.Range.First & mask) != 0 || ((ulong)(e.Range.Size & mask)) != 0 || (e.Value.PageOffset & mask) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>iopt_calculate_iova_alignment</c>: the alignment the current domains and option call for.</summary>
    private ulong WantedAlignment(bool disableLargePages)
    {
        ulong alignment = disableLargePages ? PageSize : 1;
        foreach (Attachment d in _domains)
        {
            alignment = Math.Max(alignment, d.Domain.PageSizes.Smallest);
        }

        return alignment;
    }

    private Errno DisableLargePagesCore()
    {
        if (DisableLargePages)
        {
            return Errno.Ok;
        }

        // Won't do it if domains already have pages mapped in them.
        if (_domains.Count > 0 && _areas.Count > 0)
        {
            return Errno.EINVAL;
        }

        ulong wanted = WantedAlignment(disableLargePages: true);
        if (wanted > IovaAlignment && !AreasConformTo(wanted))
        {
            return Errno.EADDRINUSE;
        }

        DisableLargePages = true;
        IovaAlignment = wanted;
        return Errno.Ok;
    }

    private Errno EnableLargePagesCore()
    {
        // Lowering (or keeping) the alignment never fails.
        DisableLargePages = false;
        IovaAlignment = WantedAlignment(disableLargePages: false);
        return Errno.Ok;
    }

    /// <summary>
    /// <c>iopt_cut_iova</c> (§2.9, VFIO compat v1 only): splits the area containing each IOVA so that the IOVA becomes
    /// the last byte of the lower half. A no-op at an area's first or last byte. Stops at the first failure, keeping
    /// earlier cuts (the kernel does the same; cuts do not change what is mapped).
    /// </summary>
    internal Errno CutIova(ReadOnlySpan<ulong> iovas)
    {
        foreach (ulong iova in iovas)
        {
            if (!_areas.TryFind(iova, out RangeMapEntry<IoasArea> e))
            {
                continue;
            }

            Errno rc = SplitArea(e.Range, e.Value, iova);
            if (rc != Errno.Ok)
            {
                return rc;
            }
        }

        return Errno.Ok;
    }

    // iopt_area_split: the two halves share the pages object (its reference count grows by one).
    private Errno SplitArea(IovaRange range, IoasArea area, ulong iova)
    {
        if (iova == range.First || iova == range.Last)
        {
            return Errno.Ok;
        }

        ulong newStart = iova + 1; // iova < range.Last, so no overflow.
        UInt128 rhsStartByte = area.StartByte + (newStart - range.First);
        if ((newStart & (IovaAlignment - 1)) != 0 || (ulong)(rhsStartByte & (IovaAlignment - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        // A domain may hold huge IOPTEs for this area unless large pages are disabled.
        if (area.Filled && !DisableLargePages)
        {
            return Errno.EINVAL;
        }

        var lhs = new IoasArea(area.Pages, area.StartByte, area.Readable, area.Writeable) { Filled = area.Filled };
        var rhs = new IoasArea(area.Pages, rhsStartByte, area.Readable, area.Writeable) { Filled = area.Filled };
        RemoveAreaEntry(range, area);
        AddAreaEntry(IovaRange.FromFirstLast(range.First, iova), lhs);
        AddAreaEntry(IovaRange.FromFirstLast(newStart, range.Last), rhs);
        area.Pages.Refs++;

        // Page users are counted per filled area: the split page (if the cut is inside a host page) gains a user.
        if (area.Filled)
        {
            ulong boundaryPage = rhs.UserVaAt(0) & ~(PageSize - 1);
            if ((lhs.UserVaAt(iova - range.First) & ~(PageSize - 1)) == boundaryPage)
            {
                area.Pages.PageUsers[boundaryPage]++;
            }
        }

        return Errno.Ok;
    }

    // ---------------------------------------------------------------- span helpers

    private static List<IovaRange> Spans(RangeMap<bool> map)
    {
        var spans = new List<IovaRange>();
        foreach (RangeMapEntry<bool> e in map)
        {
            if (spans.Count > 0 && (spans[^1].Last >= e.Range.First || spans[^1].IsFollowedBy(e.Range)))
            {
                spans[^1] = IovaRange.FromFirstLast(spans[^1].First, Math.Max(spans[^1].Last, e.Range.Last));
            }
            else
            {
                spans.Add(e.Range);
            }
        }

        return spans;
    }

    private static List<IovaRange> Clip(List<IovaRange> spans, IovaRange window)
    {
        var clipped = new List<IovaRange>(spans.Count);
        foreach (IovaRange s in spans)
        {
            if (s.TryIntersect(window, out IovaRange piece))
            {
                clipped.Add(piece);
            }
        }

        return clipped;
    }

    /// <summary>The holes of <c>reserved ∪ areas</c> inside <paramref name="window"/>, ascending (touching ranges merge).</summary>
    private static List<IovaRange> Holes(RangeMap<bool> reserved, RangeMap<IoasArea>? areas, IovaRange window)
    {
        var used = new List<IovaRange>();
        foreach (RangeMapEntry<bool> e in reserved.Overlapping(window))
        {
            used.Add(e.Range);
        }

        if (areas is not null)
        {
            foreach (RangeMapEntry<IoasArea> e in areas.Overlapping(window))
            {
                used.Add(e.Range);
            }
        }

        used.Sort();
        var holes = new List<IovaRange>();
        UInt128 cursor = window.First; // next address not known to be used; up to 2^64
        foreach (IovaRange u in used)
        {
            if (u.First > cursor)
            {
                // cursor < u.First <= 2^64-1, so the hole's ends fit in 64 bits.
                holes.Add(IovaRange.FromFirstLast((ulong)cursor, Math.Min(u.First - 1, window.Last)));
            }

            cursor = UInt128.Max(cursor, u.End);
        }

        if (cursor <= window.Last)
        {
            holes.Add(IovaRange.FromFirstLast((ulong)cursor, window.Last));
        }

        return holes;
    }
}
