using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Linux;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Guest.Vtd;

/// <summary>
/// One device's DMA address space behind a <see cref="VtdIommu"/> (QEMU's <c>VTDAddressSpace</c>): its memory
/// regions, its context cache, its notifiers and the IOVA tree of what they were told; the handler of its IOMMU region.
/// </summary>
/// <remarks>
/// <para>Layout (QEMU's <c>vtd_find_add_as</c>): a root container <c>vtd-XX.X</c> of 2^64 holding, both at 0 and
/// priority 0, the alias <c>vtd-nodmar</c> → system memory and the IOMMU region <c>vtd-XX.X-dmar</c> of 2^64, which
/// holds the interrupt window <c>vtd-ir</c> (an MMIO region) at 0xfee00000, 1 MiB, priority 1. Exactly one of
/// nodmar and dmar is enabled (<see cref="SwitchAddressSpace"/>): dmar while DMAR is on and the context is not
/// pass-through. With dmar on, the flat view holds two IOMMU sections, [0x0, 0xfedfffff] and
/// [0xfef00000, 0xffffffffffffffff], around the MMIO window.</para>
/// <para>Page walk (QEMU's <c>vtd_page_walk_level</c>): one decision per entry at every level, so a non-present
/// entry at level L covers 2^(12 + 9(L-1)) bytes with one read; permissions stack (AND) down the path; a
/// leaf or an invalid entry is one event (<c>iova &amp; level_mask</c>, mask level size - 1), deduplicated through
/// the IOVA tree (QEMU's <c>vtd_page_walk_one</c>): an identical MAP is skipped, a MAP over a different entry first
/// sends UNMAP for each entry it overlaps (QEMU sends it for the first one only), an UNMAP of nothing sent is skipped.
/// Reserved-bit and unreadable entries are skipped; a table reached twice in one walk (shared or looped guest
/// tables) is skipped and counted as malformed, so a walk reads each guest table page at most once.</para>
/// </remarks>
public sealed class VtdDeviceSpace : IIommuRegionHandler
{
    private readonly VtdIommu _unit;
    private readonly RangeMap<IommuTlbEntry> _iovaTree = new();
    private readonly HashSet<ulong> _visitedTables = [];
    private VtdContextEntry _context;
    private bool _contextCached;

    internal VtdDeviceSpace(VtdIommu unit, int bus, int devfn)
    {
        _unit = unit;
        Bus = bus;
        DevFn = devfn;
        Notifiers = new IommuNotifierList(FlagChanged);
        string name = string.Create(CultureInfo.InvariantCulture, $"vtd-{devfn >> 3:x2}.{devfn & 7:x}");
        MemoryMap.MemoryMap map = unit.Map;
        map.BeginTransaction();
        try
        {
            Root = map.CreateContainer(name, ulong.MaxValue);
            NoDmar = map.CreateAlias("vtd-nodmar", unit.SystemMemory, 0, ulong.MaxValue);
            Dmar = map.CreateIommu(name + "-dmar", ulong.MaxValue, this);
            InterruptRegion = map.CreateReservation("vtd-ir", VtdIommu.InterruptWindow.Size);
            Dmar.AddSubregionOverlap(VtdIommu.InterruptWindow.First, InterruptRegion, 1);
            Root.AddSubregionOverlap(0, NoDmar, 0);
            Root.AddSubregionOverlap(0, Dmar, 0);
            Dmar.SetEnabled(false);
            AddressSpace = map.CreateAddressSpace(name, Root);
        }
        finally
        {
            map.CommitTransaction();
        }

        SwitchAddressSpace();
    }

    /// <summary>The unit this address space belongs to.</summary>
    public VtdIommu Unit => _unit;

    /// <summary>The PCI bus number.</summary>
    public int Bus { get; }

    /// <summary>The device/function number (slot &lt;&lt; 3 | function).</summary>
    public int DevFn { get; }

    /// <summary>The source id, bus &lt;&lt; 8 | devfn.</summary>
    public int SourceId => (Bus << 8) | DevFn;

    /// <summary>The root container <c>vtd-XX.X</c>.</summary>
    public MemoryRegion Root { get; }

    /// <summary>The alias <c>vtd-nodmar</c> of system memory, enabled while DMAR is off.</summary>
    public MemoryRegion NoDmar { get; }

    /// <summary>The IOMMU region <c>vtd-XX.X-dmar</c>, enabled while DMAR is on.</summary>
    public MemoryRegion Dmar { get; }

    /// <summary>The interrupt window <c>vtd-ir</c> inside <see cref="Dmar"/>.</summary>
    public MemoryRegion InterruptRegion { get; }

    /// <summary>The device's DMA address space (what a VFIO listener registers on).</summary>
    public AddressSpace AddressSpace { get; }

    /// <summary>The notifiers registered on <see cref="Dmar"/>.</summary>
    public IommuNotifierList Notifiers { get; }

    /// <summary>True when some notifier is registered (QEMU's <c>vtd_as_with_notifiers</c> membership).</summary>
    public bool HasNotifiers => Notifiers.Flags != IommuNotifierFlags.None;

    /// <summary>What the notifiers have been told is mapped (QEMU's per-address-space IOVA tree).</summary>
    public RangeMap<IommuTlbEntry> IovaTree => _iovaTree;

    /// <summary>The guest IOTLB of the cached context's domain; null until a context was cached.</summary>
    internal Iotlb? CachedIotlb { get; private set; }

    /// <summary>The bus.slot.function text QEMU prints, <c>00.03.0</c>.</summary>
    public string DeviceName => string.Create(CultureInfo.InvariantCulture, $"{Bus:x2}.{DevFn >> 3:x2}.{DevFn & 7:x}");

    /// <summary>The context entry, from the context cache or read from guest RAM and cached (only valid entries are cached).</summary>
    public VtdContextStatus LookupContext(out VtdContextEntry entry)
    {
        if (_contextCached)
        {
            entry = _context;
            return VtdContextStatus.Ok;
        }

        VtdContextStatus status = _unit.ReadContext(Bus, DevFn, out entry);
        if (status == VtdContextStatus.Ok)
        {
            _context = entry;
            _contextCached = true;
            CachedIotlb = _unit.DomainIotlb(entry.DomainId);
        }

        return status;
    }

    /// <summary>Enables exactly one of nodmar and dmar (QEMU's <c>vtd_switch_address_space</c>). Call inside a transaction to batch.</summary>
    public void SwitchAddressSpace()
    {
        bool passThrough = LookupContext(out VtdContextEntry ce) == VtdContextStatus.Ok && ce.TranslationType == VtdTranslationType.PassThrough;
        bool useIommu = _unit.TranslationEnabled && !passThrough;
        _unit.Map.BeginTransaction();
        try
        {
            NoDmar.SetEnabled(!useIommu);
            Dmar.SetEnabled(useIommu);
        }
        finally
        {
            _unit.Map.CommitTransaction();
        }
    }

    /// <inheritdoc />
    public IommuTlbEntry Translate(ulong address, Permissions access, int iommuIndex)
    {
        const ulong pageMask = PageSizes.Size4K - 1;
        ulong page = address & ~pageMask;
        if (!_unit.TranslationEnabled)
        {
            return new IommuTlbEntry(page, page, pageMask, Permissions.ReadWrite);
        }

        if (LookupContext(out VtdContextEntry ce) != VtdContextStatus.Ok)
        {
            return new IommuTlbEntry(page, 0, pageMask, Permissions.None);
        }

        if (ce.TranslationType == VtdTranslationType.PassThrough)
        {
            return new IommuTlbEntry(page, page, pageMask, Permissions.ReadWrite);
        }

        if ((address >> Math.Min(ce.AddressWidth, _unit.AddressWidth)) != 0)
        {
            return new IommuTlbEntry(page, 0, pageMask, Permissions.None);
        }

        WalkResult w = _unit.Walk(ce.SecondLevelPointer, ce.Levels, address);
        if (w.Status != PageWalkStatus.Present)
        {
            return new IommuTlbEntry(page, 0, pageMask, Permissions.None);
        }

        ulong mask = w.LeafSize - 1;
        return new IommuTlbEntry(address & ~mask, w.LeafPa, mask, w.Permissions);
    }

    /// <inheritdoc />
    public IommuRegistrationResult RegisterNotifier(IommuNotifier notifier) => Notifiers.Register(notifier);

    /// <inheritdoc />
    public bool UnregisterNotifier(IommuNotifier notifier) => Notifiers.Unregister(notifier);

    /// <summary>
    /// Replays to <paramref name="notifier"/> alone (QEMU's <c>vtd_iommu_replay</c>): UNMAP its range in aligned
    /// power-of-two chunks clamped to the address width and forget that range in the IOVA tree; then, when the context
    /// is valid and the address space has a MAP notifier, walk <c>[0, 2^aw - 1]</c> without UNMAPs, sending MAPs to
    /// this notifier only.
    /// </summary>
    public void Replay(IommuNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        AddressSpaceUnmap(notifier);
        if (LookupContext(out VtdContextEntry ce) == VtdContextStatus.Ok && Notifiers.HasMapNotifier
            && ce.TranslationType != VtdTranslationType.PassThrough)
        {
            PageWalk(ce, 0, ulong.MaxValue, notifyUnmap: false, only: notifier);
        }
    }

    /// <summary>
    /// Sends <paramref name="notifier"/> UNMAPs covering its range clamped to <c>2^aw - 1</c>, as naturally aligned
    /// power-of-two chunks (QEMU's <c>vtd_address_space_unmap</c>), and removes that range from the IOVA tree.
    /// Nothing when the range starts above the width.
    /// </summary>
    public void AddressSpaceUnmap(IommuNotifier notifier)
    {
        ArgumentNullException.ThrowIfNull(notifier);
        ulong widthLast = (1UL << _unit.AddressWidth) - 1; // aw <= 48
        ulong start = notifier.Start;
        ulong end = Math.Min(notifier.End, widthLast);
        if (start > end)
        {
            return;
        }

        ulong cur = start;
        while (true)
        {
            ulong mask = IommuMasks.AlignedPow2Mask(cur, end, _unit.AddressWidth);
            IommuNotifierList.NotifyOne(notifier, new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(cur, 0, mask, Permissions.None)));
            _unit.EventsSent++;

            // cur + mask <= end <= 2^48 - 1: no wrap.
            if (cur + mask >= end)
            {
                break;
            }

            cur += mask + 1;
        }

        RemoveFromTree(IovaRange.FromFirstLast(start, end));
    }

    /// <summary>
    /// Brings every notifier up to date with the guest tables (QEMU's <c>vtd_sync_shadow_page_table</c>): without a
    /// MAP notifier, one UNMAP of each notifier's range; with the context gone, unmap everything; else walk the whole
    /// width sending UNMAPs and MAPs.
    /// </summary>
    public void SyncShadowPageTable()
    {
        if (!Notifiers.HasMapNotifier)
        {
            foreach (IommuNotifier n in Notifiers.Notifiers.ToArray())
            {
                IommuNotifierList.UnmapNotifierRange(n);
                _unit.EventsSent++;
            }

            return;
        }

        VtdContextStatus status = LookupContext(out VtdContextEntry ce);
        if (status is VtdContextStatus.ContextNotPresent or VtdContextStatus.RootNotPresent)
        {
            UnmapAllNotifiers();
            return;
        }

        if (status == VtdContextStatus.Ok && ce.TranslationType != VtdTranslationType.PassThrough)
        {
            PageWalk(ce, 0, ulong.MaxValue, notifyUnmap: true, only: null);
        }
    }

    /// <summary>
    /// A page-selective invalidation reached this device (QEMU's <c>vtd_iotlb_page_invalidate_notify</c>): with a MAP
    /// notifier, sync <paramref name="range"/>; otherwise one UNMAP of it without walking.
    /// </summary>
    internal void InvalidatePageRange(VtdContextEntry ce, IovaRange range)
    {
        if (Notifiers.HasMapNotifier)
        {
            if (ce.TranslationType != VtdTranslationType.PassThrough)
            {
                PageWalk(ce, range.First, range.Last, notifyUnmap: true, only: null);
            }

            return;
        }

        Notifiers.Notify(new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(range.First, 0, range.Last - range.First, Permissions.None)));
        _unit.EventsSent++;
    }

    internal void InvalidateContextCache()
    {
        _contextCached = false;
        CachedIotlb = null;
    }

    internal void UnmapAllNotifiers()
    {
        foreach (IommuNotifier n in Notifiers.Notifiers.ToArray())
        {
            AddressSpaceUnmap(n);
        }
    }

    /// <summary>
    /// Walks <c>[first, last]</c> (QEMU's <c>vtd_page_walk</c>): a start beyond the width is refused (false, nothing
    /// sent); a last beyond it is clamped to <c>2^width - 1</c>.
    /// </summary>
    internal bool PageWalk(VtdContextEntry ce, ulong first, ulong last, bool notifyUnmap, IommuNotifier? only)
    {
        int width = Math.Min(ce.AddressWidth, _unit.AddressWidth);
        ulong widthLast = (1UL << width) - 1; // width <= 48
        if (first > widthLast)
        {
            return false;
        }

        last = Math.Min(last, widthLast);
        _visitedTables.Clear();
        var walk = new WalkContext(notifyUnmap, only);
        WalkLevel(ce.SecondLevelPointer & X86SecondLevelPte.AddressMask, first, last, ce.Levels, 0, read: true, write: true, ref walk);
        return true;
    }

    private void WalkLevel(ulong table, ulong first, ulong last, int level, ulong tableBase, bool read, bool write, ref WalkContext walk)
    {
        if (!_visitedTables.Add(table))
        {
            _unit.CountMalformed();
            return;
        }

        int shift = PageTableLayout.Shift(level);

        // tableBase <= first <= last < tableBase + 512 × span (the table's coverage), so both indices are 0..511.
        int i0 = (int)((first - tableBase) >> shift);
        int i1 = (int)((last - tableBase) >> shift);

        // The table is one 4 KiB page (its address is 4 KiB aligned) and backing is page granular, so the page is
        // either wholly readable or not at all: one lookup replaces 512 word reads. An untouched backed page reads as
        // zeros; an unbacked one fails at its first read, which is still counted.
        byte[]? page = _unit.GuestRam.FindPageArray(table);
        if (page is null && !_unit.GuestRam.IsBacked(table))
        {
            _unit.CountPteReads(1);
            return; // the rest of this table is unreadable too
        }

        if (level > 4)
        {
            // Every entry of such a table is reserved: one read and one malformed count each, nothing sent.
            for (int k = i0; k <= i1; k++)
            {
                _unit.CountPteReads(1);
                WalkEntry(page is null ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(page.AsSpan(k * 8, 8)), k, level, shift, tableBase,
                    first, last, read, write, ref walk);
            }

            return;
        }

        ReadOnlySpan<ulong> entries = page is null ? default : MemoryMarshal.Cast<byte, ulong>(page.AsSpan(0, PhysicalMemory.PageSize));
        int i = i0;
        while (i <= i1)
        {
            // The run of zero entries from i: each is read (and counted) and, not present, is an UNMAP event of its
            // span, which matters only when UNMAPs are sent and the IOVA tree knows something there.
            int next = page is null ? -1 : entries[i..(i1 + 1)].IndexOfAnyExcept(0UL);
            if (next < 0)
            {
                if (walk.NotifyUnmap)
                {
                    UnmapZeroRun(i, i1 - i + 1, shift, tableBase, ref walk);
                }
                else
                {
                    _unit.CountPteReads(i1 - i + 1);
                }

                return;
            }

            if (walk.NotifyUnmap && next != 0)
            {
                UnmapZeroRun(i, next, shift, tableBase, ref walk);
                _unit.CountPteReads(1);
            }
            else
            {
                _unit.CountPteReads(next + 1); // the zeros before it, which send nothing, and the present entry
            }

            i += next;
            ulong pte = BitConverter.IsLittleEndian ? entries[i] : BinaryPrimitives.ReverseEndianness(entries[i]);
            WalkEntry(pte, i, level, shift, tableBase, first, last, read, write, ref walk);
            i++;
        }
    }

    // Entries [i, i + count) are zero: counts their reads and sends, in order, the UNMAP of each one the IOVA tree
    // overlaps (the others are skipped by the dedupe), exactly as one event per entry would.
    private void UnmapZeroRun(int i, int count, int shift, ulong tableBase, ref WalkContext walk)
    {
        // All inside the table's coverage, which ends at or below 2^48 - 1: no overflow.
        ulong span = 1UL << shift;
        ulong runLast = tableBase + ((ulong)(i + count) << shift) - 1;
        int done = 0;
        while (done < count)
        {
            ulong from = tableBase + ((ulong)(i + done) << shift);
            if (!_iovaTree.TryGetFirstOverlapping(IovaRange.FromFirstLast(from, runLast), out RangeMapEntry<IommuTlbEntry> known))
            {
                break;
            }

            // The first entry of the run the known range reaches: its span holds max(known.First, from).
            int at = (int)((Math.Max(known.Range.First, from) - tableBase) >> shift);
            _unit.CountPteReads(at - (i + done) + 1);
            ulong entryFirst = tableBase + ((ulong)at << shift);
            PageWalkOne(IommuNotifierFlags.Unmap, entryFirst, 0, span - 1, Permissions.None, ref walk);
            done = at - i + 1;
        }

        _unit.CountPteReads(count - done);
    }

    // One entry read at index i of a level table (the body of QEMU's vtd_page_walk_level loop).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WalkEntry(ulong pte, int i, int level, int shift, ulong tableBase, ulong first, ulong last, bool read, bool write, ref WalkContext walk)
    {
        // Inside the table's coverage, which ends at or below 2^48 - 1: no overflow.
        ulong span = 1UL << shift;
        ulong entryFirst = tableBase + ((ulong)i << shift);
        ulong entryLast = entryFirst + (span - 1);
        if (_unit.IsReserved(pte, level))
        {
            _unit.CountMalformed();
            return;
        }

        bool readCur = read && (pte & 1) != 0;
        bool writeCur = write && (pte & 2) != 0;
        bool valid = readCur || writeCur;
        if (valid && !VtdIommu.IsLeaf(pte, level))
        {
            WalkLevel(pte & X86SecondLevelPte.AddressMask, Math.Max(first, entryFirst), Math.Min(last, entryLast), level - 1, entryFirst,
                readCur, writeCur, ref walk);
            return;
        }

        Permissions perm = (readCur ? Permissions.Read : 0) | (writeCur ? Permissions.Write : 0);
        ulong translated = perm == Permissions.None ? 0 : pte & X86SecondLevelPte.AddressMask;
        PageWalkOne(perm == Permissions.None ? IommuNotifierFlags.Unmap : IommuNotifierFlags.Map, entryFirst, translated, span - 1, perm, ref walk);
    }

    /// <summary>The IOVA-tree dedupe of one walk event (QEMU's <c>vtd_page_walk_one</c>).</summary>
    /// <remarks>The entry comes as its fields, not as a struct: a 40-byte argument written by the caller field by
    /// field and read back here as one vector stalls on store forwarding, on every mapping of a replay.</remarks>
    private void PageWalkOne(IommuNotifierFlags type, ulong iova, ulong translated, ulong mask, Permissions perm, ref WalkContext walk)
    {
        var evt = new IommuTlbEvent(type, new IommuTlbEntry(iova, translated, mask, perm));
        IovaRange range = evt.Entry.Range;
        if (evt.Type == IommuNotifierFlags.Unmap)
        {
            if (!walk.NotifyUnmap || !_iovaTree.Overlaps(range))
            {
                return;
            }

            RemoveFromTree(range);
            Send(evt, ref walk);
            return;
        }

        if (_iovaTree.TryAddLast(range, evt.Entry))
        {
            Send(evt, ref walk); // above everything known: nothing to dedupe (the walk ascends, so this is the usual case)
            return;
        }

        if (_iovaTree.TryGetFirstOverlapping(range, out RangeMapEntry<IommuTlbEntry> mapped))
        {
            if (mapped.Range == range && mapped.Value == evt.Entry)
            {
                return; // identical: already known
            }

            // The guest changed a live entry: unmap what the notifiers know there, then map the new one.
            while (_iovaTree.TryGetFirstOverlapping(range, out mapped))
            {
                _iovaTree.Remove(mapped.Range);
                IommuTlbEntry old = mapped.Value;
                Send(new IommuTlbEvent(IommuNotifierFlags.Unmap, new IommuTlbEntry(old.Iova, 0, old.AddrMask, Permissions.None)), ref walk);
            }
        }

        _iovaTree.Add(range, evt.Entry);
        Send(evt, ref walk);
    }

    private void Send(IommuTlbEvent evt, ref WalkContext walk)
    {
        _unit.EventsSent++;
        if (walk.Only is { } n)
        {
            IommuNotifierList.NotifyOne(n, evt);
        }
        else
        {
            Notifiers.Notify(evt);
        }
    }

    private void RemoveFromTree(IovaRange range) => _iovaTree.RemoveOverlapping(range);

    private IommuRegistrationResult FlagChanged(IommuNotifierFlags old, IommuNotifierFlags now)
    {
        if ((now & IommuNotifierFlags.Map) != 0 && !_unit.CachingMode)
        {
            return IommuRegistrationResult.Fail(Errno.EOPNOTSUPP, $"device {DeviceName} requires caching mode");
        }

        if ((now & IommuNotifierFlags.DevIotlbUnmap) != 0 && !_unit.DeviceIotlb)
        {
            return IommuRegistrationResult.Fail(Errno.EOPNOTSUPP, $"device {DeviceName} requires device IOTLB mode");
        }

        return IommuRegistrationResult.Ok;
    }

    /// <summary>Formats as the address space name.</summary>
    public override string ToString() => AddressSpace.Name;

    private readonly struct WalkContext(bool notifyUnmap, IommuNotifier? only)
    {
        public bool NotifyUnmap { get; } = notifyUnmap;

        public IommuNotifier? Only { get; } = only;
    }
}
