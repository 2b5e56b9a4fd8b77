using System.Globalization;
using System.Numerics;
using IommuKit.Addressing;
using IommuKit.Iommu;
using IommuKit.Memory;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Guest.Vtd;

/// <summary>
/// A model of an Intel VT-d remapping unit as QEMU's <c>intel-iommu</c> emulates it (legacy mode, second-level
/// translation): it reads the root, context and second-level tables the guest wrote into guest RAM, keeps a context
/// cache and one guest IOTLB per domain, processes queued invalidations, and keeps one
/// <see cref="VtdDeviceSpace"/> (QEMU's <c>VTDAddressSpace</c>) per device with its notifiers.
/// </summary>
/// <remarks>
/// <para>Translation for DMA (<see cref="TranslateDma"/>): DMAR off or a pass-through context → the address itself;
/// otherwise context (cached until a context-cache invalidation), width check, IOTLB (filled on a walk, emptied only
/// by the guest's IOTLB invalidations), walk. A guest that clears PTEs without invalidating keeps being served by the
/// cached entries, exactly as hardware: <see cref="NoteGuestUnmap"/> lets the guest driver tell the stale detector
/// what it removed, and every hit inside such a removal counts in <see cref="StaleHits"/>, naming the unmap.</para>
/// <para>Guest second-level PTEs: bit 0 R, bit 1 W, bit 7 PS (2 MiB at level 2, 1 GiB at level 3), bits 12..51 the
/// address. Reserved (QEMU's <c>vtd_spte_rsvd</c> masks, no snoop control and no device-TLB): bit 11, bit 62, the
/// address bits from the address width up to bit 51, PS in a level-4 entry, and the address bits below a huge leaf's
/// size. A reserved entry is skipped by page walks and faults (not-present) in translation.</para>
/// <para>Not thread-safe (QEMU runs it under the BQL and the IOMMU lock).</para>
/// </remarks>
public sealed class VtdIommu
{
    /// <summary>CAP_REG.CM, caching mode (bit 7).</summary>
    public const ulong CapCachingMode = 1UL << 7;

    /// <summary>CAP_REG.SAGAW bit for 39-bit 3-level tables (bit 9 = SAGAW bit 1).</summary>
    public const ulong CapSagaw39 = 1UL << 9;

    /// <summary>CAP_REG.SAGAW bit for 48-bit 4-level tables (bit 10 = SAGAW bit 2).</summary>
    public const ulong CapSagaw48 = 1UL << 10;

    /// <summary>CAP_REG.MGAW shift (bits 21:16 hold width - 1).</summary>
    public const int CapMgawShift = 16;

    /// <summary>CAP_REG.SLLPS: 2 MiB (bit 34) and 1 GiB (bit 35) second-level leaves.</summary>
    public const ulong CapSllps = (1UL << 34) | (1UL << 35);

    /// <summary>CAP_REG.PSI, page-selective invalidation (bit 39).</summary>
    public const ulong CapPsi = 1UL << 39;

    /// <summary>CAP_REG.MAMV shift (bits 53:48 hold the maximum address mask, 18).</summary>
    public const int CapMamvShift = 48;

    /// <summary>ECAP_REG.QI, queued invalidation (bit 1).</summary>
    public const ulong EcapQueuedInvalidation = 1UL << 1;

    /// <summary>ECAP_REG.PT, pass-through (bit 6).</summary>
    public const ulong EcapPassThrough = 1UL << 6;

    /// <summary>The interrupt window: <c>[0xfee00000, 0xfeefffff]</c> (VTD_INTERRUPT_ADDR_FIRST / LAST).</summary>
    public static readonly IovaRange InterruptWindow = IovaRange.FromFirstLast(0xfee0_0000, 0xfeef_ffff);

    private const ulong PteRead = 1;
    private const ulong PteWrite = 2;
    private const ulong PtePageSize = 1UL << 7;
    private const ulong PteAddressMask = X86SecondLevelPte.AddressMask;

    private readonly List<VtdDeviceSpace> _devices = [];
    private readonly Dictionary<int, Iotlb> _iotlbs = [];
    private readonly List<UnflushedUnmap> _unflushed = [];
    private readonly ulong[] _reservedTable; // index: level (1..4); non-leaf / 4K entries
    private readonly ulong[] _reservedLeaf;  // index: level (2..3); huge leaves
    private long _generation;

    /// <summary>Creates a unit whose devices see <paramref name="systemMemory"/> when DMAR is off.</summary>
    /// <param name="map">The memory map the per-device address spaces are created in.</param>
    /// <param name="systemMemory">The region <c>vtd-nodmar</c> aliases (the guest's system memory).</param>
    /// <param name="guestRam">Guest-physical memory: where the guest writes its tables and queue.</param>
    /// <param name="options">The settings; defaults when null.</param>
    /// <exception cref="ArgumentOutOfRangeException">The address width is not 39 or 48.</exception>
    public VtdIommu(MemoryMap.MemoryMap map, MemoryRegion systemMemory, PhysicalMemory guestRam, VtdOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(systemMemory);
        ArgumentNullException.ThrowIfNull(guestRam);
        options ??= new VtdOptions();
        if (options.AddressWidth is not (39 or 48))
        {
            ThrowHelper.ThrowArgumentOutOfRange(nameof(options), $"aw-bits {options.AddressWidth} is not supported: use 39 or 48");
        }

        Map = map;
        SystemMemory = systemMemory;
        GuestRam = guestRam;
        AddressWidth = options.AddressWidth;
        CachingMode = options.CachingMode;
        DeviceIotlb = options.DeviceIotlb;
        IotlbGeometry = options.Iotlb;
        Faults = new FaultLog(options.FaultLogCapacity);

        // Reserved masks (QEMU vtd_spte_rsvd / vtd_spte_rsvd_large): bits aw..51 and 62 and 11 everywhere.
        ulong aboveWidth = ((1UL << 52) - 1) & ~((1UL << AddressWidth) - 1);
        ulong common = aboveWidth | (1UL << 62) | (1UL << 11);
        _reservedTable = [0, common, common, common, common | PtePageSize];
        _reservedLeaf = [0, 0, common | 0x1f_f000UL, common | 0x3fff_f000UL, 0];
    }

    /// <summary>The memory map the device address spaces live in.</summary>
    public MemoryMap.MemoryMap Map { get; }

    /// <summary>The region aliased by every device's <c>vtd-nodmar</c>.</summary>
    public MemoryRegion SystemMemory { get; }

    /// <summary>Guest-physical memory (the tables and the invalidation queue live there).</summary>
    public PhysicalMemory GuestRam { get; }

    /// <summary>aw-bits: 39 or 48.</summary>
    public int AddressWidth { get; }

    /// <summary>Caching mode (CAP_REG.CM).</summary>
    public bool CachingMode { get; }

    /// <summary>The shape of each domain's guest IOTLB.</summary>
    public IotlbGeometry IotlbGeometry { get; }

    /// <summary>Device-IOTLB support (QEMU's <c>device-iotlb</c>): DEVIOTLB_UNMAP notifiers are accepted only with it.</summary>
    public bool DeviceIotlb { get; }

    /// <summary>CAP_REG as the guest reads it (ND=2, CM, SAGAW, MGAW, SLLPS, PSI, MAMV=18).</summary>
    public ulong Capability =>
        2 // ND = 2: 256 domain ids
        | (CachingMode ? CapCachingMode : 0)
        | CapSagaw39 | (AddressWidth == 48 ? CapSagaw48 : 0)
        | ((ulong)(AddressWidth - 1) << CapMgawShift)
        | CapSllps | CapPsi
        | ((ulong)VtdInvalidationDescriptor.MaxAddressMask << CapMamvShift);

    /// <summary>ECAP_REG as the guest reads it (QI, PT).</summary>
    public ulong ExtendedCapability => EcapQueuedInvalidation | EcapPassThrough;

    /// <summary>The root table address (RTADDR_REG, latched by SRTP); null before the guest set one.</summary>
    public ulong? RootTableAddress { get; private set; }

    /// <summary>GSTS.TES: DMA remapping enabled.</summary>
    public bool TranslationEnabled { get; private set; }

    /// <summary>The invalidation queue's guest-physical base (IQA_REG); null while queued invalidation is off.</summary>
    public ulong? QueueAddress { get; private set; }

    /// <summary>Descriptors the queue holds: 256 &lt;&lt; QS.</summary>
    public int QueueEntries { get; private set; }

    /// <summary>IQH_REG as a descriptor index.</summary>
    public int QueueHead { get; private set; }

    /// <summary>IQT_REG as a descriptor index.</summary>
    public int QueueTail { get; private set; }

    /// <summary>FSTS.IQE: a descriptor was refused; cleared by <see cref="ClearQueueError"/>.</summary>
    public bool QueueError { get; private set; }

    /// <summary>DMA faults (VT-d primary fault log); device id = source id.</summary>
    public FaultLog Faults { get; }

    /// <summary>The device address spaces, in creation order.</summary>
    public IReadOnlyList<VtdDeviceSpace> Devices => _devices;

    /// <summary>Guest PTEs read by translations and page walks (each 8-byte read of a guest table entry).</summary>
    public long PteReads { get; private set; }

    /// <summary>Guest entries skipped or refused as malformed (reserved bits, a table reached twice in one walk).</summary>
    public long MalformedEntries { get; private set; }

    /// <summary>DMA translations that hit a guest IOTLB entry whose mapping the guest had removed without invalidating.</summary>
    public long StaleHits { get; private set; }

    /// <summary>Notification events sent to notifiers by walks, replays and invalidations.</summary>
    public long EventsSent { get; internal set; }

    /// <summary>Invalidation descriptors processed, by kind (for tests and traces).</summary>
    public IReadOnlyList<VtdInvalidationDescriptor> ProcessedDescriptors => _processed;

    private readonly List<VtdInvalidationDescriptor> _processed = [];

    /// <summary>Resets <see cref="PteReads"/> and <see cref="MalformedEntries"/>.</summary>
    public void ResetCounters()
    {
        PteReads = 0;
        MalformedEntries = 0;
    }

    /// <summary>The device address space of <paramref name="bus"/>:<paramref name="devfn"/>, created on first use (QEMU's <c>vtd_find_add_as</c>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">bus or devfn is not 0..255.</exception>
    public VtdDeviceSpace GetDevice(int bus, int devfn)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bus);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bus, 255);
        ArgumentOutOfRangeException.ThrowIfNegative(devfn);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(devfn, 255);
        foreach (VtdDeviceSpace d in _devices)
        {
            if (d.Bus == bus && d.DevFn == devfn)
            {
                return d;
            }
        }

        var created = new VtdDeviceSpace(this, bus, devfn);
        _devices.Add(created);
        return created;
    }

    /// <summary>The device with source id <paramref name="sourceId"/> (bus &lt;&lt; 8 | devfn), created on first use.</summary>
    public VtdDeviceSpace GetDevice(int sourceId) => GetDevice((sourceId >> 8) & 0xff, sourceId & 0xff);

    /// <summary>The guest IOTLB of domain <paramref name="domainId"/> (created on first use).</summary>
    public Iotlb DomainIotlb(int domainId)
    {
        if (!_iotlbs.TryGetValue(domainId, out Iotlb? iotlb))
        {
            iotlb = new Iotlb(IotlbGeometry);
            _iotlbs.Add(domainId, iotlb);
        }

        return iotlb;
    }

    /// <summary>The counters of every domain's guest IOTLB, summed.</summary>
    public IotlbStats IotlbStats
    {
        get
        {
            long h = 0, m = 0, w = 0, f = 0, e = 0, i = 0, ie = 0, ex = 0;
            foreach (Iotlb t in _iotlbs.Values)
            {
                IotlbStats s = t.Stats;
                h += s.Hits;
                m += s.Misses;
                w += s.Walks;
                f += s.Fills;
                e += s.Evictions;
                i += s.Invalidations;
                ie += s.InvalidatedEntries;
                ex += s.EntriesExamined;
            }

            return new IotlbStats(h, m, w, f, e, i, ie, ex);
        }
    }

    /// <summary>Sets RTADDR_REG and issues SRTP: later context lookups read this root table.</summary>
    public void SetRootTable(ulong rootTable)
    {
        RootTableAddress = rootTable & ~0xfffUL;
    }

    /// <summary>GCMD.TE: enables or disables DMA remapping; every device address space switches (QEMU's <c>vtd_switch_address_space_all</c>).</summary>
    public void SetTranslationEnabled(bool enabled)
    {
        if (enabled == TranslationEnabled)
        {
            return;
        }

        TranslationEnabled = enabled;
        SwitchAll();
    }

    /// <summary>IQA_REG + GCMD.QIE: the queue of 256 &lt;&lt; <paramref name="sizeOrder"/> descriptors at <paramref name="address"/>; head and tail reset to 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size order is not 0..7.</exception>
    public void SetInvalidationQueue(ulong address, int sizeOrder = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sizeOrder);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sizeOrder, 7);
        QueueAddress = address & ~0xfffUL;
        QueueEntries = 256 << sizeOrder;
        QueueHead = 0;
        QueueTail = 0;
    }

    /// <summary>Clears FSTS.IQE so the queue runs again from the head.</summary>
    public void ClearQueueError() => QueueError = false;

    /// <summary>
    /// Writes IQT_REG: the unit processes descriptors from the head up to <paramref name="tail"/> (exclusive, wrapping).
    /// A refused descriptor sets <see cref="QueueError"/> and stops with the head on it.
    /// </summary>
    /// <exception cref="InvalidOperationException">Queued invalidation is not enabled.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tail"/> is not below <see cref="QueueEntries"/>.</exception>
    public VtdInvalidationResult WriteQueueTail(int tail)
    {
        if (QueueAddress is not { } queue)
        {
            return ThrowHelper.ThrowInvalidOperation<VtdInvalidationResult>("queued invalidation is not enabled (no IQA set)");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(tail);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(tail, QueueEntries);
        QueueTail = tail;
        int processed = 0;
        Span<byte> raw = stackalloc byte[VtdInvalidationDescriptor.Bytes];
        while (!QueueError && QueueHead != QueueTail)
        {
            // head < entries <= 2^15, so the offset is below 2^19 and the sum stays inside the queue's pages.
            ulong at = queue + ((ulong)QueueHead * VtdInvalidationDescriptor.Bytes);
            if (!GuestRam.TryRead(at, raw))
            {
                QueueError = true;
                return new VtdInvalidationResult(processed, true, $"invalidation queue entry at {ThrowHelper.Hex(at)} is outside guest RAM");
            }

            var d = new VtdInvalidationDescriptor(
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw[8..]));
            string? error = Process(d);
            if (error is not null)
            {
                QueueError = true;
                return new VtdInvalidationResult(processed, true, error);
            }

            processed++;
            QueueHead = QueueHead + 1 == QueueEntries ? 0 : QueueHead + 1;
        }

        return new VtdInvalidationResult(processed, QueueError, QueueError ? "the queue is stopped by an earlier error (IQE)" : null);
    }

    /// <summary>
    /// Handles one invalidation descriptor (the register-based CCMD / IOTLB paths share this). Returns null when
    /// done, or why it was refused (unknown type, reserved granularity, AM above 18).
    /// </summary>
    public string? Process(VtdInvalidationDescriptor descriptor)
    {
        switch (descriptor.Type)
        {
            case VtdInvalidationDescriptor.TypeContextCache:
                switch (descriptor.Granularity)
                {
                    case VtdInvalidationDescriptor.GranularityGlobal:
                    case VtdInvalidationDescriptor.GranularityDomain:
                        ContextGlobalInvalidate(); // QEMU treats domain-selective as global
                        break;
                    case VtdInvalidationDescriptor.GranularityDeviceOrPage:
                        ContextDeviceInvalidate(descriptor.SourceId, descriptor.FunctionMask);
                        break;
                    default:
                        return $"context-cache invalidation with reserved granularity 0 ({descriptor})";
                }

                break;
            case VtdInvalidationDescriptor.TypeIotlb:
                switch (descriptor.Granularity)
                {
                    case VtdInvalidationDescriptor.GranularityGlobal:
                        IotlbGlobalInvalidate();
                        break;
                    case VtdInvalidationDescriptor.GranularityDomain:
                        IotlbDomainInvalidate(descriptor.DomainId);
                        break;
                    case VtdInvalidationDescriptor.GranularityDeviceOrPage:
                        if (descriptor.AddressMask > VtdInvalidationDescriptor.MaxAddressMask)
                        {
                            return string.Create(CultureInfo.InvariantCulture,
                                $"IOTLB page-selective invalidation with address mask {descriptor.AddressMask} above MAMV {VtdInvalidationDescriptor.MaxAddressMask} ({descriptor})");
                        }

                        IotlbPageInvalidate(descriptor.DomainId, descriptor.Address, descriptor.AddressMask);
                        break;
                    default:
                        return $"IOTLB invalidation with reserved granularity 0 ({descriptor})";
                }

                break;
            case VtdInvalidationDescriptor.TypeDeviceIotlb:
                DeviceIotlbInvalidate(descriptor);
                break;
            case VtdInvalidationDescriptor.TypeWait:
                if ((descriptor.Low & (1UL << 5)) != 0 && !GuestRam.TryWrite(descriptor.High & ~3UL, BitConverter.GetBytes((uint)(descriptor.Low >> 32))))
                {
                    return $"invalidation wait status address {ThrowHelper.Hex(descriptor.High & ~3UL)} is outside guest RAM";
                }

                break;
            default:
                return $"unknown invalidation descriptor type {descriptor.Type} ({descriptor})";
        }

        _processed.Add(descriptor);
        return null;
    }

    /// <summary>
    /// Tells the stale detector that the guest removed <paramref name="range"/> from domain <paramref name="domainId"/>
    /// (the guest driver calls it; hardware would not know). IOTLB hits inside it on entries filled before are
    /// stale until an invalidation covers it.
    /// </summary>
    public void NoteGuestUnmap(int domainId, IovaRange range, string label)
    {
        _generation++;
        _unflushed.Add(new UnflushedUnmap(domainId, range, _generation, label));
    }

    /// <summary>
    /// Translates a DMA access by <paramref name="device"/> at <paramref name="iova"/> to a guest-physical
    /// address (the guest stage). Faults are logged in <see cref="Faults"/> and returned. Allocation-free except
    /// when a stale hit must be named (<paramref name="staleCause"/>).
    /// </summary>
    public DmaTranslation TranslateDma(VtdDeviceSpace device, ulong iova, DmaAccess access, out string? staleCause)
    {
        ArgumentNullException.ThrowIfNull(device);
        staleCause = null;
        if (!TranslationEnabled)
        {
            return DmaTranslation.Success(iova, Permissions.ReadWrite, PageSizes.Size4K, fromIotlb: false);
        }

        VtdContextStatus status = device.LookupContext(out VtdContextEntry ce);
        if (status != VtdContextStatus.Ok)
        {
            return Fault(iova, access, DmaFaultReason.NotPresent, device.SourceId);
        }

        if (ce.TranslationType == VtdTranslationType.PassThrough)
        {
            return DmaTranslation.Success(iova, Permissions.ReadWrite, PageSizes.Size4K, fromIotlb: false);
        }

        int width = Math.Min(ce.AddressWidth, AddressWidth);
        if ((iova >> width) != 0)
        {
            return Fault(iova, access, DmaFaultReason.BeyondWidth, device.SourceId);
        }

        Iotlb iotlb = device.CachedIotlb!;
        int slot = iotlb.LookupSlot(iova);
        if (slot >= 0)
        {
            Permissions perms = iotlb.SlotPermissions(slot);
            if (((int)access & ~(int)perms) != 0)
            {
                return Fault(iova, access, PermissionFault(perms, access), device.SourceId, fromIotlb: true);
            }

            bool stale = _unflushed.Count != 0 && IsStale(ce.DomainId, iova, iotlb.SlotGeneration(slot), out staleCause);
            return DmaTranslation.Success(iotlb.SlotPa(slot, iova), perms, iotlb.SlotLeafSize(slot), fromIotlb: true, stale);
        }

        iotlb.RecordWalk();
        WalkResult w = Walk(ce.SecondLevelPointer, ce.Levels, iova);
        if (w.Status != PageWalkStatus.Present)
        {
            return Fault(iova, access, DmaFaultReason.NotPresent, device.SourceId);
        }

        if (((int)access & ~(int)w.Permissions) != 0)
        {
            return Fault(iova, access, PermissionFault(w.Permissions, access), device.SourceId);
        }

        // The leaf base is aligned to its size (checked by the reserved masks).
        iotlb.Fill(iova & ~(w.LeafSize - 1), w.LeafPa, BitOperations.TrailingZeroCount(w.LeafSize), w.Permissions, _generation);
        return DmaTranslation.Success(w.LeafPa | (iova & (w.LeafSize - 1)), w.Permissions, w.LeafSize, fromIotlb: false);
    }

    /// <summary>Walks the guest table for one IOVA without the IOTLB (the IOMMU region's translate).</summary>
    internal WalkResult Walk(ulong root, int levels, ulong iova)
    {
        ulong table = root & PteAddressMask;
        ulong allowed = PteRead | PteWrite;
        for (int level = levels; level >= 1; level--)
        {
            // The index is < 512 and the table page aligned: the entry stays in the table page.
            ulong at = table + ((ulong)PageTableLayout.EntryIndex(iova, level) * 8);
            PteReads++;
            if (!GuestRam.TryReadUInt64(at, out ulong pte))
            {
                return new WalkResult(PageWalkStatus.TableUnreadable, 0, 0, Permissions.None, level);
            }

            if ((pte & (PteRead | PteWrite)) == 0)
            {
                return new WalkResult(PageWalkStatus.NotPresent, 0, 0, Permissions.None, level);
            }

            if (IsReserved(pte, level))
            {
                MalformedEntries++;
                return new WalkResult(PageWalkStatus.Malformed, 0, 0, Permissions.None, level);
            }

            allowed &= pte;
            if (IsLeaf(pte, level))
            {
                ulong size = PageTableLayout.EntrySpan(level);
                return new WalkResult(PageWalkStatus.Present, pte & PteAddressMask, size, (Permissions)(int)(allowed & 3), level);
            }

            table = pte & PteAddressMask;
        }

        return new WalkResult(PageWalkStatus.Malformed, 0, 0, Permissions.None, 1);
    }

    /// <summary>True when <paramref name="pte"/> at <paramref name="level"/> has a reserved bit set.</summary>
    internal bool IsReserved(ulong pte, int level)
    {
        if (level > 4)
        {
            return true;
        }

        ulong mask = (pte & PtePageSize) != 0 && level is 2 or 3 ? _reservedLeaf[level] : _reservedTable[level];
        return (pte & mask) != 0;
    }

    /// <summary>A leaf: level 1, or PS in a level-2 or level-3 entry.</summary>
    internal static bool IsLeaf(ulong pte, int level) => level == 1 || ((pte & PtePageSize) != 0 && level is 2 or 3);

    internal void CountPteReads(int count) => PteReads += count;

    internal void CountMalformed() => MalformedEntries++;

    /// <summary>Reads the context entry of <paramref name="bus"/>:<paramref name="devfn"/> from guest RAM (QEMU's <c>vtd_dev_to_context_entry</c>).</summary>
    internal VtdContextStatus ReadContext(int bus, int devfn, out VtdContextEntry entry)
    {
        entry = default;
        if (RootTableAddress is not { } root)
        {
            return VtdContextStatus.NoRootTable;
        }

        // bus, devfn < 256: offsets below 4 KiB inside the table pages.
        ulong rootAt = root + ((ulong)bus * VtdRootEntry.Bytes);
        if (!GuestRam.TryReadUInt64(rootAt, out ulong rlo) || !GuestRam.TryReadUInt64(rootAt + 8, out ulong rhi))
        {
            return VtdContextStatus.Unreadable;
        }

        var re = new VtdRootEntry(rlo, rhi);
        if (!re.IsPresent)
        {
            return VtdContextStatus.RootNotPresent;
        }

        if (re.HasReservedBits)
        {
            return VtdContextStatus.Malformed;
        }

        ulong ctxAt = re.ContextTablePointer + ((ulong)devfn * VtdContextEntry.Bytes);
        if (!GuestRam.TryReadUInt64(ctxAt, out ulong clo) || !GuestRam.TryReadUInt64(ctxAt + 8, out ulong chi))
        {
            return VtdContextStatus.Unreadable;
        }

        var ce = new VtdContextEntry(clo, chi);
        if (!ce.IsPresent)
        {
            return VtdContextStatus.ContextNotPresent;
        }

        if (ce.HasReservedBits)
        {
            return VtdContextStatus.Malformed;
        }

        // AW must be one SAGAW advertises (vtd_ce_check_aw): 39-bit always, 48-bit when aw-bits is 48.
        if (ce.TranslationType != VtdTranslationType.PassThrough
            && !(ce.AddressWidthCode == VtdContextEntry.AddressWidth39 || (ce.AddressWidthCode == VtdContextEntry.AddressWidth48 && AddressWidth == 48)))
        {
            return VtdContextStatus.Malformed;
        }

        entry = ce;
        return VtdContextStatus.Ok;
    }

    private void SwitchAll()
    {
        Map.BeginTransaction();
        try
        {
            foreach (VtdDeviceSpace d in _devices)
            {
                d.SwitchAddressSpace();
            }
        }
        finally
        {
            Map.CommitTransaction();
        }
    }

    private void ContextGlobalInvalidate()
    {
        foreach (VtdDeviceSpace d in _devices)
        {
            d.InvalidateContextCache();
        }

        // vtd_address_space_refresh_all: unmap every notifier, switch every address space; then replay all.
        foreach (VtdDeviceSpace d in _devices)
        {
            d.UnmapAllNotifiers();
        }

        SwitchAll();
        SyncAll();
    }

    private void ContextDeviceInvalidate(int sourceId, int functionMask)
    {
        // FM masks the high bits of the 3-bit function number (VT-d spec, context-cache invalidate descriptor):
        // 00 none, 01 bit 2, 10 bits 2:1, 11 bits 2:0. So FM n ignores the n most significant function bits.
        int ignored = (7 << (3 - (functionMask & 3))) & 7; // 0, 4, 6, 7
        int mask = ~ignored & 0xff;

        int bus = (sourceId >> 8) & 0xff;
        int devfn = sourceId & 0xff;
        foreach (VtdDeviceSpace d in _devices)
        {
            if (d.Bus == bus && (d.DevFn & mask) == (devfn & mask))
            {
                d.InvalidateContextCache();
                Map.BeginTransaction();
                try
                {
                    d.SwitchAddressSpace();
                }
                finally
                {
                    Map.CommitTransaction();
                }

                d.SyncShadowPageTable();
            }
        }
    }

    private void IotlbGlobalInvalidate()
    {
        foreach (Iotlb t in _iotlbs.Values)
        {
            t.InvalidateAll();
        }

        _unflushed.Clear();
        SyncAll();
    }

    private void IotlbDomainInvalidate(int domainId)
    {
        if (_iotlbs.TryGetValue(domainId, out Iotlb? t))
        {
            t.InvalidateAll();
        }

        _unflushed.RemoveAll(u => u.DomainId == domainId);
        foreach (VtdDeviceSpace d in _devices)
        {
            if (d.HasNotifiers && d.LookupContext(out VtdContextEntry ce) == VtdContextStatus.Ok && ce.DomainId == domainId)
            {
                d.SyncShadowPageTable();
            }
        }
    }

    private void IotlbPageInvalidate(int domainId, ulong address, int am)
    {
        // size = 4 KiB << am <= 1 GiB; the address is aligned down to it, so addr + size - 1 cannot wrap.
        ulong size = PageSizes.Size4K << am;
        ulong first = address & ~(size - 1);
        var range = IovaRange.FromStartSize(first, size);
        if (_iotlbs.TryGetValue(domainId, out Iotlb? t))
        {
            t.Invalidate(range);
        }

        _unflushed.RemoveAll(u => u.DomainId == domainId && range.Contains(u.Range));
        foreach (VtdDeviceSpace d in _devices)
        {
            if (d.HasNotifiers && d.LookupContext(out VtdContextEntry ce) == VtdContextStatus.Ok && ce.DomainId == domainId)
            {
                d.InvalidatePageRange(ce, range);
            }
        }
    }

    private void DeviceIotlbInvalidate(VtdInvalidationDescriptor d)
    {
        // S = 0: one 4 KiB page. S = 1: the lowest clear bit of ADDR[63:12] at position k gives 4 KiB << (k + 1).
        ulong pfn = d.High >> 12;
        ulong size = (d.High & 1) == 0 ? PageSizes.Size4K : PageSizes.Size4K << Math.Min(BitOperations.TrailingZeroCount(~pfn) + 1, 52);
        ulong first = d.Address & ~(size - 1);
        var evt = new IommuTlbEvent(IommuNotifierFlags.DevIotlbUnmap, new IommuTlbEntry(first, 0, size - 1, Permissions.None));
        foreach (VtdDeviceSpace dev in _devices)
        {
            if (dev.SourceId == d.SourceId)
            {
                dev.Notifiers.Notify(evt);
                EventsSent++;
            }
        }
    }

    private void SyncAll()
    {
        foreach (VtdDeviceSpace d in _devices)
        {
            if (d.HasNotifiers)
            {
                d.SyncShadowPageTable();
            }
        }
    }

    private bool IsStale(int domainId, ulong iova, long entryGeneration, out string? cause)
    {
        foreach (UnflushedUnmap u in _unflushed)
        {
            if (u.DomainId == domainId && u.Generation > entryGeneration && u.Range.Contains(iova))
            {
                StaleHits++;
                cause = u.Label;
                return true;
            }
        }

        cause = null;
        return false;
    }

    private static DmaFaultReason PermissionFault(Permissions permissions, DmaAccess access) =>
        (access & DmaAccess.Read) != 0 && (permissions & Permissions.Read) == 0
            ? DmaFaultReason.ReadOfWriteOnly
            : DmaFaultReason.WriteToReadOnly;

    private DmaTranslation Fault(ulong iova, DmaAccess access, DmaFaultReason reason, int sourceId, bool fromIotlb = false) =>
        DmaTranslation.Faulted(Faults.Report(iova, access, reason, sourceId), fromIotlb);

    private readonly record struct UnflushedUnmap(int DomainId, IovaRange Range, long Generation, string Label);
}

/// <summary>The result of walking a guest second-level table for one IOVA.</summary>
internal readonly record struct WalkResult(PageWalkStatus Status, ulong LeafPa, ulong LeafSize, Permissions Permissions, int Level);
