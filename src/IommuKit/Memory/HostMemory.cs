using IommuKit.Addressing;
using IommuKit.Linux;

namespace IommuKit.Memory;

/// <summary>
/// The calling process's memory as VFIO and iommufd see it: which user virtual ranges are backed, with which
/// permissions, which host physical frames lie behind them, and how many times each page is pinned.
/// </summary>
/// <remarks>
/// <para>Invariants: regions are page aligned and disjoint (one record per region, kept in a
/// <see cref="RangeMap{T}"/>). Each region is backed by one physically contiguous host range in
/// <see cref="Physical"/>, allocated upwards from <see cref="PhysicalBase"/> (2^47, clear of
/// <see cref="FrameAllocator.DefaultPool"/> at 2^40 + 64 GiB, and low enough that the default 2^47-byte user space fits
/// a 48-bit output address such as ARM LPAE's) so that <c>pa ≡ va (mod 1 GiB)</c>: a container can then map the
/// largest leaves the IOVA alignment allows.</para>
/// <para>Pin counts are kept as disjoint page-aligned segments with a count of at least 1, adjacent segments of
/// equal count merged, so pinning a terabyte costs one segment. Nothing is stored for unpinned memory, and the
/// default layout (all of <see cref="DefaultUserSpace"/> backed read-write) costs one region record and one backing
/// entry until touched.</para>
/// <para>Every operation is all-or-nothing: <see cref="Pin"/> checks every page before it counts any.</para>
/// <para>This type only counts pins. Policies such as iommufd's "pin once per pages object" belong to the caller.</para>
/// </remarks>
public sealed class HostMemory
{
    /// <summary>The page size, 4 KiB.</summary>
    public const ulong PageSize = PageSizes.Size4K;

    /// <summary>The lowest host physical address given to regions: 2^47.</summary>
    public const ulong PhysicalBase = 1UL << 47;

    /// <summary>The alignment congruence kept between a region's VA and its PA: 1 GiB.</summary>
    public const ulong CongruenceAlignment = PageSizes.Size1G;

    /// <summary>The default backed user space, <c>[0, 2^47-1]</c> (x86-64 4-level user half).</summary>
    public static readonly IovaRange DefaultUserSpace = IovaRange.FromFirstLast(0, (1UL << 47) - 1);

    private readonly RangeMap<RegionData> _regions = new();
    private readonly RangeMap<int> _pins = new();
    private readonly List<RangeMapEntry<int>> _scratchOld = []; // Adjust/Coalesce working lists, reused: no allocation per pin
    private readonly List<RangeMapEntry<int>> _scratchAdded = [];
    private UInt128 _nextPa = PhysicalBase;
    private ulong _pinnedPages;
    private ulong _totalPins;

    /// <summary>
    /// Creates the memory of a process whose backed ranges are <paramref name="regions"/>, or all of
    /// <see cref="DefaultUserSpace"/> read-write when <paramref name="regions"/> is null.
    /// </summary>
    /// <param name="physical">The host physical memory the regions' frames live in.</param>
    /// <param name="regions">The backed ranges (page aligned, disjoint).</param>
    /// <exception cref="ArgumentException">A region is unaligned or overlaps another.</exception>
    public HostMemory(PhysicalMemory physical, IEnumerable<HostMemoryRegion>? regions = null)
    {
        ArgumentNullException.ThrowIfNull(physical);
        Physical = physical;
        foreach (HostMemoryRegion region in regions ?? [new HostMemoryRegion(DefaultUserSpace, HostMemoryPermissions.ReadWrite)])
        {
            AddRegion(region);
        }
    }

    /// <summary>The host physical memory behind the regions.</summary>
    public PhysicalMemory Physical { get; }

    /// <summary>The backed regions, ascending.</summary>
    public IReadOnlyList<HostMemoryRegion> Regions
    {
        get
        {
            var list = new List<HostMemoryRegion>(_regions.Count);
            foreach (RangeMapEntry<RegionData> e in _regions)
            {
                list.Add(new HostMemoryRegion(e.Range, e.Value.Permissions));
            }

            return list;
        }
    }

    /// <summary>The number of distinct pages pinned at least once.</summary>
    public ulong PinnedPages => _pinnedPages;

    /// <summary>The sum of all pages' pin counts.</summary>
    public ulong TotalPins => _totalPins;

    /// <summary>The pinned segments, ascending: disjoint page-aligned ranges with their pin count (at least 1).</summary>
    public IReadOnlyList<RangeMapEntry<int>> PinnedSegments => _pins.Overlapping(IovaRange.Full).ToList();

    /// <summary>Backs <paramref name="region"/> (an <c>mmap</c>) with fresh host physical memory.</summary>
    /// <exception cref="ArgumentException">The region is not page aligned or overlaps a backed region.</exception>
    /// <exception cref="InvalidOperationException">Host physical space is exhausted.</exception>
    public void AddRegion(HostMemoryRegion region)
    {
        if (!region.Va.IsAligned(PageSize))
        {
            ThrowHelper.ThrowArgument(nameof(region), $"host memory region {region.Va} is not aligned to {ThrowHelper.Hex(PageSize)}");
        }

        if (_regions.Overlaps(region.Va))
        {
            ThrowHelper.ThrowArgument(nameof(region), $"host memory region {region.Va} overlaps a backed region");
        }

        // Round _nextPa up to 1 GiB, then add the VA's offset within its 1 GiB: pa ≡ va (mod 1 GiB).
        // _nextPa < 2^65 and each term < 2^64, so the UInt128 sums cannot overflow.
        const ulong mask = CongruenceAlignment - 1;
        UInt128 pa = ((_nextPa + mask) & ~(UInt128)mask) + (region.Va.First & mask);
        UInt128 end = pa + region.Va.Size;
        if (end > IovaRange.SpaceSize)
        {
            ThrowHelper.ThrowInvalidOperation($"host physical space exhausted backing {region.Va}");
        }

        ulong paFirst = (ulong)pa;
        Physical.AddBacking(IovaRange.FromStartSize(paFirst, region.Va.Size));
        _regions.Add(region.Va, new RegionData(region.Permissions, paFirst));
        _nextPa = end;
    }

    /// <summary>The region containing <paramref name="va"/>, if any.</summary>
    public bool TryGetRegion(ulong va, out HostMemoryRegion region)
    {
        if (_regions.TryFind(va, out RangeMapEntry<RegionData> e))
        {
            region = new HostMemoryRegion(e.Range, e.Value.Permissions);
            return true;
        }

        region = default;
        return false;
    }

    /// <summary>True when every page of <paramref name="va"/> is backed and allows the access.</summary>
    /// <param name="va">The virtual range.</param>
    /// <param name="write">True for a write pin (needs <see cref="HostMemoryPermissions.Write"/>); false for a read pin
    /// (needs <see cref="HostMemoryPermissions.Read"/>), as <c>get_user_pages</c> checks a VMA's flags.</param>
    public bool IsAccessible(IovaRange va, bool write)
    {
        HostMemoryPermissions needed = write ? HostMemoryPermissions.Write : HostMemoryPermissions.Read;
        ulong next = va.First; // the first address not yet known to be covered
        foreach (RangeMapEntry<RegionData> e in _regions.Overlapping(va))
        {
            if (e.Range.First > next || (e.Value.Permissions & needed) != needed)
            {
                return false;
            }

            if (e.Range.Last >= va.Last)
            {
                return true;
            }

            next = e.Range.Last + 1; // e.Range.Last < va.Last <= 2^64-1, so no overflow
        }

        return false;
    }

    /// <summary>
    /// Pins every page of <paramref name="va"/> once more (<c>pin_user_pages</c>). All-or-nothing: if any page is
    /// unbacked or lacks the permission, nothing is pinned and the result is <see cref="Errno.EFAULT"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="va"/> is not page aligned.</exception>
    public Errno Pin(IovaRange va, bool write)
    {
        RequirePageAligned(va);
        if (!IsAccessible(va, write))
        {
            return Errno.EFAULT;
        }

        // Fast path: no segment overlaps va or touches either end, so the result is one new segment of count 1 that
        // nothing merges with (what Adjust and Coalesce would produce, without their working lists).
        ulong below = va.First == 0 ? 0 : va.First - 1;
        ulong above = va.Last == ulong.MaxValue ? ulong.MaxValue : va.Last + 1;
        if (!_pins.Overlaps(IovaRange.FromFirstLast(below, above)))
        {
            _pins.AddDisjoint(va, 1);
            CountPages(va, 0, 1);
            return Errno.Ok;
        }

        Adjust(va, +1);
        return Errno.Ok;
    }

    /// <summary>Drops one pin from every page of <paramref name="va"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="va"/> is not page aligned.</exception>
    /// <exception cref="InvalidOperationException">Some page of the range is not pinned (nothing changed).</exception>
    public void Unpin(IovaRange va)
    {
        RequirePageAligned(va);

        // Fast path: va is exactly one segment pinned once. Dropping it leaves a hole, so nothing can merge.
        if (_pins.TryFind(va.First, out RangeMapEntry<int> only) && only.Value == 1 && only.Range == va)
        {
            _pins.Remove(va);
            CountPages(va, 1, 0);
            return;
        }

        ulong next = va.First;
        bool covered = false;
        foreach (RangeMapEntry<int> e in _pins.Overlapping(va))
        {
            if (e.Range.First > next)
            {
                break;
            }

            if (e.Range.Last >= va.Last)
            {
                covered = true;
                break;
            }

            next = e.Range.Last + 1; // e.Range.Last < va.Last, so no overflow
        }

        if (!covered)
        {
            ThrowHelper.ThrowInvalidOperation($"unpin of {va}: some page is not pinned");
        }

        Adjust(va, -1);
    }

    /// <summary>The pin count of the page containing <paramref name="va"/>.</summary>
    public int PinCount(ulong va) => _pins.TryFind(va, out RangeMapEntry<int> e) ? e.Value : 0;

    /// <summary>Translates <paramref name="va"/> to the host physical address behind it; false when unbacked.</summary>
    public bool TryTranslate(ulong va, out ulong pa)
    {
        if (_regions.TryFind(va, out RangeMapEntry<RegionData> e))
        {
            pa = e.Value.PaFirst + (va - e.Range.First); // within one region's PA range, which fits in 64 bits
            return true;
        }

        pa = 0;
        return false;
    }

    /// <summary>
    /// The longest physically contiguous run starting at <paramref name="va"/>: <paramref name="pa"/> is the host
    /// physical address of <paramref name="va"/> and <paramref name="run"/> the virtual range
    /// <c>[va, last]</c> whose PAs are <c>[pa, pa + (last - va)]</c>. False when <paramref name="va"/> is unbacked.
    /// </summary>
    public bool TryGetPhysicalRun(ulong va, out ulong pa, out IovaRange run)
    {
        if (_regions.TryFind(va, out RangeMapEntry<RegionData> e))
        {
            pa = e.Value.PaFirst + (va - e.Range.First);
            run = IovaRange.FromFirstLast(va, e.Range.Last);
            return true;
        }

        pa = 0;
        run = default;
        return false;
    }

    private static void RequirePageAligned(IovaRange va)
    {
        if (!va.IsAligned(PageSize))
        {
            ThrowHelper.ThrowArgument(nameof(va), $"range {va} is not aligned to {ThrowHelper.Hex(PageSize)}");
        }
    }

    // Adds delta (+1 or -1) to every page of range. For -1 the caller has checked every page has a count >= 1.
    private void Adjust(IovaRange range, int delta)
    {
        List<RangeMapEntry<int>> old = Collect(range);
        List<RangeMapEntry<int>> added = _scratchAdded;
        added.Clear();
        ulong next = range.First;
        bool done = false;
        foreach (RangeMapEntry<int> e in old)
        {
            _pins.Remove(e.Range);
            if (e.Range.First < range.First)
            {
                added.Add(new(IovaRange.FromFirstLast(e.Range.First, range.First - 1), e.Value));
            }

            if (e.Range.Last > range.Last)
            {
                added.Add(new(IovaRange.FromFirstLast(range.Last + 1, e.Range.Last), e.Value));
            }

            // The gap before this segment (pins only: unpin has no gaps).
            if (!done && e.Range.First > next)
            {
                added.Add(new(IovaRange.FromFirstLast(next, e.Range.First - 1), 1));
                CountPages(IovaRange.FromFirstLast(next, e.Range.First - 1), 0, 1);
            }

            IovaRange middle = IovaRange.FromFirstLast(Math.Max(e.Range.First, range.First), Math.Min(e.Range.Last, range.Last));
            int count = e.Value + delta;
            CountPages(middle, e.Value, count);
            if (count > 0)
            {
                added.Add(new(middle, count));
            }

            if (middle.Last == range.Last)
            {
                done = true;
            }
            else
            {
                next = middle.Last + 1; // middle.Last < range.Last, so no overflow
            }
        }

        if (!done)
        {
            // Only a pin reaches here with an uncovered tail.
            IovaRange tail = IovaRange.FromFirstLast(next, range.Last);
            added.Add(new(tail, 1));
            CountPages(tail, 0, 1);
        }

        foreach (RangeMapEntry<int> a in added)
        {
            _pins.Add(a.Range, a.Value);
        }

        Coalesce(range);
    }

    private void CountPages(IovaRange pages, int before, int after)
    {
        // pages.Size / 4K <= 2^52, so it fits a ulong; counts only ever move by one.
        ulong n = (ulong)(pages.Size / PageSize);
        if (before == 0 && after > 0)
        {
            _pinnedPages += n;
        }
        else if (before > 0 && after == 0)
        {
            _pinnedPages -= n;
        }

        if (after > before)
        {
            _totalPins += n;
        }
        else
        {
            _totalPins -= n;
        }
    }

    // Merges adjacent segments of equal count in and next to range.
    // The pin segments overlapping range, in order, in the reused _scratchOld list (valid until the next call).
    private List<RangeMapEntry<int>> Collect(IovaRange range)
    {
        _scratchOld.Clear();
        foreach (RangeMapEntry<int> e in _pins.Overlapping(range))
        {
            _scratchOld.Add(e);
        }

        return _scratchOld;
    }

    private void Coalesce(IovaRange range)
    {
        ulong first = range.First == 0 ? 0 : range.First - 1;
        ulong last = range.Last == ulong.MaxValue ? ulong.MaxValue : range.Last + 1;
        List<RangeMapEntry<int>> near = Collect(IovaRange.FromFirstLast(first, last));
        int i = 0;
        while (i < near.Count)
        {
            int j = i;
            while (j + 1 < near.Count && near[j].Range.IsFollowedBy(near[j + 1].Range) && near[j + 1].Value == near[i].Value)
            {
                j++;
            }

            if (j > i)
            {
                for (int k = i; k <= j; k++)
                {
                    _pins.Remove(near[k].Range);
                }

                _pins.Add(IovaRange.FromFirstLast(near[i].Range.First, near[j].Range.Last), near[i].Value);
            }

            i = j + 1;
        }
    }

    private readonly record struct RegionData(HostMemoryPermissions Permissions, ulong PaFirst);
}
