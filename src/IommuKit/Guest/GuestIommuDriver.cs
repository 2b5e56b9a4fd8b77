using System.Globalization;
using System.Numerics;
using IommuKit.Addressing;
using IommuKit.Guest.Vtd;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Guest;

/// <summary>
/// The guest's VT-d driver, reduced to what Linux's <c>intel-iommu</c> does for DMA API users: it writes the root
/// table, context entries and second-level tables into guest RAM, and issues queued invalidations.
/// </summary>
/// <remarks>
/// <para>Linux rules followed: with caching mode the driver invalidates after creating entries too (a context entry:
/// device-selective context-cache + domain-selective IOTLB; a mapping: page-selective IOTLB of the new range), so
/// QEMU sees new mappings; without caching mode it does not, since hardware caches no non-present entry. An unmap
/// is followed by page-selective invalidations of the range unless the caller asks not to (a buggy or lazy
/// guest); every unmap is reported to the unit's stale detector (<see cref="VtdIommu.NoteGuestUnmap"/>).</para>
/// <para>Page-selective invalidations are naturally aligned power-of-two blocks of 4 KiB .. 1 GiB (AM 0..18).</para>
/// </remarks>
public sealed class GuestIommuDriver
{
    private readonly Dictionary<int, GuestDomain> _domains = [];
    private readonly Dictionary<int, ulong> _contextTables = [];
    private readonly ulong _rootTable;
    private int _nextDomainId = 1;
    private int _unmaps;

    /// <summary>Creates the driver: allocates the root table and the invalidation queue from <paramref name="frames"/> and programs the unit.</summary>
    /// <param name="unit">The VT-d unit.</param>
    /// <param name="frames">A frame allocator over guest RAM (its memory must be the unit's <see cref="VtdIommu.GuestRam"/>).</param>
    /// <exception cref="ArgumentException">The allocator works in another memory than the unit's guest RAM.</exception>
    public GuestIommuDriver(VtdIommu unit, FrameAllocator frames)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(frames);
        if (!ReferenceEquals(frames.Memory, unit.GuestRam))
        {
            ThrowHelper.ThrowArgument(nameof(frames), "the guest frame allocator must allocate from the unit's guest RAM");
        }

        Unit = unit;
        Frames = frames;
        Format = unit.AddressWidth == 48 ? PageTableFormat.X86SecondLevel4Level : PageTableFormat.X86SecondLevel3Level;
        _rootTable = frames.Allocate();
        unit.SetRootTable(_rootTable);
        unit.SetInvalidationQueue(frames.Allocate());
    }

    /// <summary>The unit driven.</summary>
    public VtdIommu Unit { get; }

    /// <summary>Where table pages come from (guest RAM).</summary>
    public FrameAllocator Frames { get; }

    /// <summary>The page-table format of new domains: 3-level for aw 39, 4-level for aw 48.</summary>
    public PageTableFormat Format { get; }

    /// <summary>The root table's guest-physical address.</summary>
    public ulong RootTable => _rootTable;

    /// <summary>The domains created, by id.</summary>
    public IReadOnlyDictionary<int, GuestDomain> Domains => _domains;

    /// <summary>Creates a domain with an empty table (ids from 1; 0 is reserved under caching mode).</summary>
    public GuestDomain CreateDomain()
    {
        var domain = new GuestDomain(_nextDomainId++, IoPageTable.Create(Format, Frames));
        _domains.Add(domain.DomainId, domain);
        return domain;
    }

    /// <summary>GCMD.TE = 1.</summary>
    public void EnableTranslation() => Unit.SetTranslationEnabled(true);

    /// <summary>GCMD.TE = 0.</summary>
    public void DisableTranslation() => Unit.SetTranslationEnabled(false);

    /// <summary>
    /// Points <paramref name="bus"/>:<paramref name="devfn"/> at <paramref name="domain"/> (a present context entry,
    /// TT untranslated or pass-through), creating the bus's context table if needed; with caching mode, invalidates
    /// the device's context and the domain's IOTLB.
    /// </summary>
    public void AttachDevice(GuestDomain domain, int bus, int devfn, bool passThrough = false)
    {
        ArgumentNullException.ThrowIfNull(domain);
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 255);
        ArgumentOutOfRangeException.ThrowIfNegative(devfn);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devfn, 255);
        if (!_contextTables.TryGetValue(bus, out ulong ctx))
        {
            ctx = Frames.Allocate();
            _contextTables.Add(bus, ctx);
            WriteEntry(_rootTable + ((ulong)bus * VtdRootEntry.Bytes), VtdRootEntry.Create(ctx).Low, 0);
        }

        int aw = domain.Table.Levels == 4 ? VtdContextEntry.AddressWidth48 : VtdContextEntry.AddressWidth39;
        VtdContextEntry ce = VtdContextEntry.Create(domain.DomainId, domain.Table.RootPa, aw,
            passThrough ? VtdTranslationType.PassThrough : VtdTranslationType.Untranslated);
        WriteEntry(ctx + ((ulong)devfn * VtdContextEntry.Bytes), ce.Low, ce.High);
        if (Unit.CachingMode)
        {
            Submit(VtdInvalidationDescriptor.ContextDevice(domain.DomainId, (bus << 8) | devfn));
            Submit(VtdInvalidationDescriptor.IotlbDomain(domain.DomainId));
        }
    }

    /// <summary>Clears the context entry of <paramref name="bus"/>:<paramref name="devfn"/> and invalidates its context and the domain's IOTLB.</summary>
    public void DetachDevice(int bus, int devfn)
    {
        if (!_contextTables.TryGetValue(bus, out ulong ctx))
        {
            return;
        }

        ulong at = ctx + ((ulong)devfn * VtdContextEntry.Bytes);
        int did = new VtdContextEntry(Unit.GuestRam.ReadUInt64(at), Unit.GuestRam.ReadUInt64(at + 8)).DomainId;
        WriteEntry(at, 0, 0);
        Submit(VtdInvalidationDescriptor.ContextDevice(did, (bus << 8) | devfn));
        Submit(VtdInvalidationDescriptor.IotlbDomain(did));
    }

    /// <summary>
    /// Maps <paramref name="range"/> to <paramref name="gpa"/> with the largest leaves alignment allows; with caching
    /// mode, then invalidates the new range page-selectively.
    /// </summary>
    public PageTableStatus Map(GuestDomain domain, IovaRange range, ulong gpa, Permissions permissions)
    {
        ArgumentNullException.ThrowIfNull(domain);
        PageTableStatus status = domain.Table.TryMap(range, gpa, permissions);
        if (status == PageTableStatus.Ok && Unit.CachingMode)
        {
            InvalidateRange(domain.DomainId, range);
        }

        return status;
    }

    /// <summary>
    /// Clears the PTEs of <paramref name="range"/> and, when <paramref name="invalidate"/>, invalidates it
    /// page-selectively (a strict driver). Without invalidation the unit's IOTLB keeps the old translations: the stale
    /// detector is told which unmap that was.
    /// </summary>
    public UnmapResult Unmap(GuestDomain domain, IovaRange range, bool invalidate = true)
    {
        ArgumentNullException.ThrowIfNull(domain);
        UnmapResult result = domain.Table.Unmap(range);
        if (result.Status != PageTableStatus.Ok)
        {
            return result;
        }

        _unmaps++;
        if (result.BytesUnmapped != 0)
        {
            Unit.NoteGuestUnmap(domain.DomainId, range, string.Create(CultureInfo.InvariantCulture,
                $"guest unmap #{_unmaps} {range} in domain {domain.DomainId}{(invalidate ? "" : " (not invalidated)")}"));
        }

        if (invalidate)
        {
            InvalidateRange(domain.DomainId, range);
        }

        return result;
    }

    /// <summary>
    /// One page-selective IOTLB invalidation of <paramref name="size"/> bytes at <paramref name="iova"/>: the size
    /// must be a power of two from 4 KiB to 1 GiB (AM 0..18) and the IOVA aligned to it; anything else is
    /// <see cref="Errno.EINVAL"/> with nothing sent. A queue error (the unit refused it) is EINVAL too.
    /// </summary>
    public Errno InvalidatePage(int domainId, ulong iova, UInt128 size)
    {
        if (size < PageSizes.Size4K || size > PageSizes.Size1G || !BitOperations.IsPow2((ulong)size) || (iova & ((ulong)size - 1)) != 0)
        {
            return Errno.EINVAL;
        }

        int am = BitOperations.TrailingZeroCount((ulong)size) - PageSizes.PageBits;
        return Submit(VtdInvalidationDescriptor.IotlbPage(domainId, iova, am)).Error ? Errno.EINVAL : Errno.Ok;
    }

    /// <summary>A domain-selective IOTLB invalidation.</summary>
    public VtdInvalidationResult InvalidateDomain(int domainId) => Submit(VtdInvalidationDescriptor.IotlbDomain(domainId));

    /// <summary>A global IOTLB invalidation.</summary>
    public VtdInvalidationResult InvalidateGlobal() => Submit(VtdInvalidationDescriptor.IotlbGlobal());

    /// <summary>A global context-cache invalidation followed by a global IOTLB invalidation (as the spec asks).</summary>
    public VtdInvalidationResult InvalidateContextGlobal()
    {
        VtdInvalidationResult r = Submit(VtdInvalidationDescriptor.ContextGlobal());
        return r.Error ? r : Submit(VtdInvalidationDescriptor.IotlbGlobal());
    }

    /// <summary>Writes <paramref name="descriptor"/> at the queue tail and moves the tail past it (the unit processes it at once).</summary>
    public VtdInvalidationResult Submit(VtdInvalidationDescriptor descriptor)
    {
        ulong queue = Unit.QueueAddress ?? ThrowHelper.ThrowInvalidOperation<ulong>("the invalidation queue is not set up");
        int tail = Unit.QueueTail;
        WriteEntry(queue + ((ulong)tail * VtdInvalidationDescriptor.Bytes), descriptor.Low, descriptor.High);
        return Unit.WriteQueueTail(tail + 1 == Unit.QueueEntries ? 0 : tail + 1);
    }

    private void InvalidateRange(int domainId, IovaRange range)
    {
        // 30 bits: blocks of at most 1 GiB (AM 18); the range is 4 KiB aligned, so every block is at least 4 KiB.
        foreach ((ulong iova, ulong mask) in IommuMasks.AlignedPow2Blocks(range.First, range.Last, 30))
        {
            int am = BitOperations.TrailingZeroCount(mask + 1) - PageSizes.PageBits;
            Submit(VtdInvalidationDescriptor.IotlbPage(domainId, iova, am));
        }
    }

    private void WriteEntry(ulong at, ulong low, ulong high)
    {
        Unit.GuestRam.WriteUInt64(at, low);
        Unit.GuestRam.WriteUInt64(at + 8, high);
    }
}
