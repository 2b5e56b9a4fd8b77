using System.Globalization;
using IommuKit.Addressing;
using IommuKit.Linux;
using IommuKit.MemoryMap;
using IommuKit.PageTables;

namespace IommuKit.Vfio;

/// <summary>
/// QEMU's VFIO memory listener (<c>hw/vfio/listener.c</c>, qemu-memory-vfio.md §2): keeps a container's DMA mappings
/// in sync with the RAM sections of the address space it is registered on, and shadows the mappings of guest IOMMU
/// sections through their notifiers.
/// </summary>
/// <remarks>
/// <para><b>Rules reproduced</b> (§2.1-§2.4): non-RAM, non-IOMMU sections and sections whose first address has bit
/// 63 set are skipped; a section whose address and region offset differ below the host page is reported as an
/// "unaligned region" and ignored; the IOVA range is <c>[ALIGN_UP(oas), (oas + size) &amp; PAGE_MASK)</c> in 128 bits
/// (the mask keeps bit 64, so an end of 2^64 survives) and a range empty after alignment is ignored;
/// <c>vaddr = HostAddress + offset_within_region + (iova - oas)</c>; read-only sections are mapped without write;
/// ram_device sections whose range is not a multiple of the smallest IOMMU page are not mapped and their map failures
/// are warnings. IOMMU sections are not mapped: a MAP|UNMAP notifier over <c>[ofr, ofr + size - 1]</c> is registered
/// with <c>iommu_offset = oas - ofr</c> and replayed.</para>
/// <para><b>2^64.</b> Every size is a <see cref="UInt128"/>; nothing is ever taken as a 64-bit value that could be
/// 2^64. A 2^64 unmap (region_del of a whole-space section, or a notifier UNMAP with <c>addr_mask = U64_MAX</c>,
/// QEMU's "size 0" hazard of §2.3) uses the container's best primitive: the native full-range unmap, else unmap-all,
/// else two calls of 2^63 (what QEMU 5.2-2025 did). A 2^64 map (only from a notifier) uses the native map, else two
/// halves. Where QEMU 2.5 asserted (2015-2016, fixed by 55efcc537d) and 2.7-5.1 asserted on removal, this listener
/// computes the same ranges in 128 bits.</para>
/// <para><b>Errors</b> are values in <see cref="Errors"/>: before the first <see cref="Commit"/> (the registration
/// replay) the first map failure is <see cref="SetupError"/>, named by region; afterwards a RAM map failure is
/// <see cref="VfioListenerErrorKind.Fatal"/> (QEMU aborts; this listener records it and goes on).</para>
/// <para>Region del comes before the memory behind a section goes away (the memory map guarantees the order).</para>
/// </remarks>
public sealed class VfioListener : IMemoryListener
{
    private const ulong Bit63 = 1UL << 63;
    private static readonly UInt128 HalfSpace = (UInt128)1 << 63;

    private readonly IVfioListenerBackend _backend;
    private readonly AddressSpace? _targetSpace;
    private readonly ulong _pageSize;
    private readonly bool _split;
    private readonly List<VfioListenerCall> _calls = [];
    private readonly List<VfioListenerError> _errors = [];
    private readonly List<GuestIommu> _giommus = [];

    /// <summary>Creates a listener that drives <paramref name="backend"/>.</summary>
    /// <param name="backend">The container adapter.</param>
    /// <param name="targetSpace">Where guest IOMMU entries translate to (QEMU's <c>address_space_memory</c>); null when no IOMMU section is expected.</param>
    /// <param name="options">Page size and 2^64 policy; <see cref="VfioListenerOptions.Default"/> when null.</param>
    /// <exception cref="ArgumentException">The host page size is not a power of two of at least 1 KiB.</exception>
    public VfioListener(IVfioListenerBackend backend, AddressSpace? targetSpace = null, VfioListenerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        options ??= VfioListenerOptions.Default;
        if (!ulong.IsPow2(options.HostPageSize) || options.HostPageSize < 0x400)
        {
            ThrowHelper.ThrowArgument(nameof(options), $"host page size {ThrowHelper.Hex(options.HostPageSize)} is not a power of two >= 0x400");
        }

        _backend = backend;
        _targetSpace = targetSpace;
        _pageSize = options.HostPageSize;
        _split = options.SplitFullRangeUnmap;
    }

    /// <summary>Receives one QEMU-style trace event per decision and container call: (name, arguments).</summary>
    public Action<string, string>? Trace { get; set; }

    /// <summary>The container adapter.</summary>
    public IVfioListenerBackend Backend => _backend;

    /// <summary>The host page size sections are aligned to.</summary>
    public ulong HostPageSize => _pageSize;

    /// <summary>True once the registration replay has committed (QEMU's <c>container-&gt;initialized</c>).</summary>
    public bool Initialized { get; private set; }

    /// <summary>Every container call made, in order.</summary>
    public IReadOnlyList<VfioListenerCall> Calls => _calls;

    /// <summary>Every error met, in order.</summary>
    public IReadOnlyList<VfioListenerError> Errors => _errors;

    /// <summary>The first error of the initial registration (the device setup fails with it); null when none.</summary>
    public VfioListenerError? SetupError { get; private set; }

    /// <summary>True when a run-time map failed (QEMU would have aborted with "DMA mapping failed, unable to continue").</summary>
    public bool HasFatalError => _errors.Any(e => e.Kind == VfioListenerErrorKind.Fatal);

    /// <summary>The guest IOMMU notifiers registered, one per IOMMU section added.</summary>
    public IReadOnlyList<IommuNotifier> Notifiers => [.. _giommus.Select(g => g.Notifier)];

    /// <summary>Removes and returns the calls recorded so far (what <c>expect-listener-calls</c> checks).</summary>
    public IReadOnlyList<VfioListenerCall> TakeCalls()
    {
        VfioListenerCall[] calls = [.. _calls];
        _calls.Clear();
        return calls;
    }

    /// <inheritdoc />
    public void Commit() => Initialized = true;

    /// <summary>
    /// The IOVA range of a section after host-page alignment (QEMU's <c>vfio_get_section_iova_range</c>), in 128 bits.
    /// False when it is empty (smaller than a page after alignment).
    /// </summary>
    /// <param name="section">The section.</param>
    /// <param name="pageSize">The page size, a power of two.</param>
    /// <param name="range">The inclusive range, when not empty.</param>
    public static bool TryGetIovaRange(MemoryRegionSection section, ulong pageSize, out IovaRange range)
    {
        UInt128 mask = pageSize - 1;
        // oas < 2^64 and mask < 2^63: the sum fits 128 bits; the result may be 2^64 (then the range is empty).
        UInt128 iova = ((UInt128)section.OffsetWithinAddressSpace + mask) & ~mask;
        // oas + size <= 2^64 (a section invariant). ~mask keeps bit 64 set: QEMU's sign-extended PAGE_MASK.
        UInt128 llend = ((UInt128)section.OffsetWithinAddressSpace + section.Size) & ~mask;
        if (iova >= llend)
        {
            range = default;
            return false;
        }

        // iova < llend <= 2^64, so iova fits 64 bits and llend - 1 <= 2^64 - 1.
        range = IovaRange.FromFirstLast((ulong)iova, (ulong)(llend - 1));
        return true;
    }

    /// <inheritdoc />
    public void RegionAdd(MemoryRegionSection section)
    {
        if (!PassesFilters(section, "region_add"))
        {
            return;
        }

        MemoryRegion mr = section.Region;
        if (!TryGetIovaRange(section, _pageSize, out IovaRange range))
        {
            if (mr.IsRamDevice)
            {
                Emit("vfio_listener_region_add_no_dma_map", $"name={mr.Name} iova={Hex(section.OffsetWithinAddressSpace)} size={Hex(section.Size)} page_size={Hex(_pageSize)}");
            }
            else
            {
                Emit("vfio_listener_region_add_skip", $"{Span(section)} reason=smaller-than-a-page-after-alignment");
            }

            return;
        }

        if (mr.IsIommu)
        {
            AddIommuSection(section);
            return;
        }

        // vaddr = ram_ptr + ofr + (iova - oas); iova - oas < page size, and the region's host block holds the section.
        ulong vaddr = mr.HostAddress + section.OffsetWithinRegion + (range.First - section.OffsetWithinAddressSpace);
        if (mr.IsRamDevice)
        {
            ulong pgmask = _backend.MinIommuPageSize - 1;
            if ((range.First & pgmask) != 0 || (range.Size & pgmask) != 0)
            {
                Emit("vfio_listener_region_add_no_dma_map", $"name={mr.Name} iova={Hex(range.First)} size={Hex(range.Size)} page_size={Hex(_backend.MinIommuPageSize)}");
                return;
            }
        }

        Emit("vfio_listener_region_add_ram", $"iova={Hex(range.First)} end={Hex(range.Last)} vaddr={Hex(vaddr)}{(section.ReadOnly ? " readonly" : "")}");
        Errno rc = DmaMap(range, vaddr, section.ReadOnly);
        if (rc == Errno.Ok)
        {
            return;
        }

        string message = string.Create(CultureInfo.InvariantCulture,
            $"vfio_container_dma_map(iova={Hex(range.First)}, size={Hex(range.Size)}, vaddr={Hex(vaddr)}) = -{(int)rc} ({rc})");
        if (mr.IsRamDevice)
        {
            Report(VfioListenerErrorKind.Warning, $"Region {mr.Name}: {message}: PCI peer-to-peer transactions on BARs are not supported", rc);
        }
        else if (!Initialized)
        {
            var error = new VfioListenerError(VfioListenerErrorKind.Setup, $"Region {mr.Name}: {message}", rc);
            SetupError ??= error;
            _errors.Add(error);
            Emit("vfio_listener_error", $"kind=setup {error.Message}");
        }
        else
        {
            Report(VfioListenerErrorKind.Fatal, $"vfio: DMA mapping failed, unable to continue: Region {mr.Name}: {message}", rc);
        }
    }

    /// <inheritdoc />
    public void RegionDel(MemoryRegionSection section)
    {
        if (!PassesFilters(section, "region_del"))
        {
            return;
        }

        MemoryRegion mr = section.Region;
        if (mr.IsIommu)
        {
            int i = _giommus.FindIndex(g => ReferenceEquals(g.Region, mr) && g.Notifier.Start == section.OffsetWithinRegion);
            if (i >= 0)
            {
                GuestIommu giommu = _giommus[i];
                mr.IommuHandler?.UnregisterNotifier(giommu.Notifier);
                _giommus.RemoveAt(i);
                Emit("vfio_listener_region_del_iommu", $"name={mr.Name} notifier=[{Hex(giommu.Notifier.Start)}, {Hex(giommu.Notifier.End)}]");
            }

            // Then one big unmap over the whole section (QEMU's FIXME: right for page-table IOMMUs).
        }

        if (!TryGetIovaRange(section, _pageSize, out IovaRange range))
        {
            return;
        }

        if (mr.IsRamDevice)
        {
            ulong pgmask = _backend.MinIommuPageSize - 1;
            if ((range.First & pgmask) != 0 || (range.Size & pgmask) != 0)
            {
                Emit("vfio_listener_region_del_skip", $"{Span(section)} reason=ram-device-not-mapped");
                return;
            }
        }

        Emit("vfio_listener_region_del", $"iova={Hex(range.First)} end={Hex(range.Last)} size={Hex(range.Size)}");
        Errno rc = DmaUnmap(range);
        if (rc != Errno.Ok)
        {
            Report(VfioListenerErrorKind.Reported,
                string.Create(CultureInfo.InvariantCulture, $"vfio_container_dma_unmap(iova={Hex(range.First)}, size={Hex(range.Size)}) = -{(int)rc} ({rc})"), rc);
        }
    }

    private bool PassesFilters(MemoryRegionSection section, string callback)
    {
        MemoryRegion mr = section.Region;
        if (!mr.IsRam && !mr.IsIommu)
        {
            Emit($"vfio_listener_{callback}_skip", $"{Span(section)} reason=not-ram-or-iommu kind={mr.Kind}");
            return false;
        }

        if ((section.OffsetWithinAddressSpace & Bit63) != 0)
        {
            // Sizing a 64-bit BAR puts it briefly in the top half of the address space (§2.1).
            Emit($"vfio_listener_{callback}_skip", $"{Span(section)} reason=bit-63-set");
            return false;
        }

        ulong low = _pageSize - 1;
        if ((section.OffsetWithinAddressSpace & low) != (section.OffsetWithinRegion & low))
        {
            Report(VfioListenerErrorKind.Reported, string.Create(CultureInfo.InvariantCulture,
                $"{callback} received unaligned region {mr.Name} iova={Hex(section.OffsetWithinAddressSpace)} offset_within_region={Hex(section.OffsetWithinRegion)} qemu_real_host_page_size={Hex(_pageSize)}"),
                Errno.Ok);
            return false;
        }

        return true;
    }

    private void AddIommuSection(MemoryRegionSection section)
    {
        MemoryRegion mr = section.Region;
        ulong ofr = section.OffsetWithinRegion;
        // ofr + size - 1: the section lies inside the region, whose size is at most 2^64, so this is <= 2^64 - 1.
        ulong end = (ulong)(ofr + section.Size - 1);
        // iommu_offset = oas - ofr, modulo 2^64 as QEMU's hwaddr arithmetic (added back modulo 2^64 in the notifier).
        ulong iommuOffset = unchecked(section.OffsetWithinAddressSpace - ofr);
        var giommu = new GuestIommu(mr, iommuOffset);
        var notifier = new IommuNotifier(IommuNotifierFlags.IotlbEvents, ofr, end, giommu.OnEvent);
        giommu.Notifier = notifier;
        giommu.Listener = this;
        Emit("vfio_listener_region_add_iommu", $"name={mr.Name} iova={Hex(section.OffsetWithinAddressSpace)} notifier=[{Hex(ofr)}, {Hex(end)}] iommu_offset={Hex(iommuOffset)}");

        IommuRegistrationResult registered = mr.IommuHandler is { } handler
            ? handler.RegisterNotifier(notifier)
            : IommuRegistrationResult.Fail(Errno.EOPNOTSUPP, "the IOMMU region has no handler");
        if (!registered.IsOk)
        {
            string message = $"Region {mr.Name}: {registered.Message}";
            if (!Initialized)
            {
                var error = new VfioListenerError(VfioListenerErrorKind.Setup, message, registered.Error);
                SetupError ??= error;
                _errors.Add(error);
                Emit("vfio_listener_error", $"kind=setup {message}");
            }
            else
            {
                Report(VfioListenerErrorKind.Fatal, message, registered.Error);
            }

            return;
        }

        _giommus.Add(giommu);
        mr.IommuHandler!.Replay(notifier);
    }

    private void OnIommuEvent(GuestIommu giommu, IommuTlbEvent evt)
    {
        IommuTlbEntry entry = evt.Entry;
        // iova = entry.iova + iommu_offset, modulo 2^64 like QEMU's hwaddr.
        ulong iova = unchecked(entry.Iova + giommu.IommuOffset);
        Emit("vfio_iommu_map_notify", $"op={IommuTlbEvent.TypeName(evt.Type)} iova={Hex(iova)} - {Hex(unchecked(iova + entry.AddrMask))}");
        if (!IovaRange.TryFromStartSize(iova, entry.Size, out IovaRange range))
        {
            Report(VfioListenerErrorKind.Reported, $"iommu entry {entry} with offset {Hex(giommu.IommuOffset)} passes 2^64", Errno.EINVAL);
            return;
        }

        if (evt.Type == IommuNotifierFlags.Unmap)
        {
            // No translation for UNMAP (dfbd90e5b9): huge and non-RAM ranges are fine. Size is 128-bit: addr_mask = U64_MAX is 2^64, not 0.
            Errno urc = DmaUnmap(range);
            if (urc != Errno.Ok)
            {
                Report(VfioListenerErrorKind.Reported, $"vfio_container_dma_unmap({Hex(range.First)}, {Hex(range.Size)}) = -{(int)urc} ({urc})", urc);
            }

            return;
        }

        if (evt.Type != IommuNotifierFlags.Map)
        {
            return;
        }

        if (_targetSpace is null || !_targetSpace.FlatView.TryFind(entry.TranslatedAddress, out FlatRange target) || !target.Region.IsRam)
        {
            Report(VfioListenerErrorKind.Reported, $"iommu map to non memory area {Hex(entry.TranslatedAddress)}", Errno.EINVAL);
            return;
        }

        // Bytes of the target range from the translated address on: Range.End - gpa, at most 2^64.
        if (target.Range.End - entry.TranslatedAddress < entry.Size)
        {
            Report(VfioListenerErrorKind.Reported, $"iommu has granularity incompatible with target AS ({entry})", Errno.EINVAL);
            return;
        }

        ulong vaddr = target.Region.HostAddress + target.OffsetInRegion + (entry.TranslatedAddress - target.Range.First);
        bool readOnly = (entry.Permissions & Permissions.Write) == 0 || target.ReadOnly;
        Errno rc = DmaMap(range, vaddr, readOnly);
        if (rc != Errno.Ok)
        {
            Report(VfioListenerErrorKind.Reported, $"vfio_container_dma_map({Hex(range.First)}, {Hex(range.Size)}, {Hex(vaddr)}) = -{(int)rc} ({rc})", rc);
        }
    }

    private Errno DmaMap(IovaRange range, ulong vaddr, bool readOnly)
    {
        if (!range.IsFull)
        {
            // Size < 2^64: a u64 UAPI call.
            Errno rc = _backend.Map(range.First, (ulong)range.Size, vaddr, readOnly);
            Record(VfioListenerCallKind.Map, range.First, range.Size, vaddr, readOnly, false, rc);
            return rc;
        }

        if (_backend.SupportsFullRange)
        {
            Errno rc = _backend.MapFullRange(range, vaddr, readOnly);
            Record(VfioListenerCallKind.Map, range.First, range.Size, vaddr, readOnly, true, rc);
            return rc;
        }

        // Two halves of 2^63: vaddr + 2^63 wraps modulo 2^64 exactly as the kernel would see it.
        Errno first = _backend.Map(0, Bit63, vaddr, readOnly);
        Record(VfioListenerCallKind.Map, 0, HalfSpace, vaddr, readOnly, false, first);
        if (first != Errno.Ok)
        {
            return first;
        }

        Errno second = _backend.Map(Bit63, Bit63, unchecked(vaddr + Bit63), readOnly);
        Record(VfioListenerCallKind.Map, Bit63, HalfSpace, unchecked(vaddr + Bit63), readOnly, false, second);
        return second;
    }

    private Errno DmaUnmap(IovaRange range)
    {
        if (!range.IsFull)
        {
            Errno rc = _backend.Unmap(range.First, (ulong)range.Size);
            Record(VfioListenerCallKind.Unmap, range.First, range.Size, 0, false, false, rc);
            return rc;
        }

        if (!_split && _backend.SupportsFullRange)
        {
            Emit("vfio_listener_full_range_unmap", "primitive=native-full-range calls=1");
            Errno rc = _backend.UnmapFullRange(range);
            Record(VfioListenerCallKind.Unmap, 0, range.Size, 0, false, true, rc);
            return rc;
        }

        if (!_split && _backend.SupportsUnmapAll)
        {
            Emit("vfio_listener_full_range_unmap", "primitive=unmap-all calls=1");
            Errno rc = _backend.UnmapAll(out ulong iova, out ulong size);
            Record(VfioListenerCallKind.UnmapAll, iova, size, 0, false, false, rc);
            return rc;
        }

        Emit("vfio_listener_full_range_unmap", "primitive=two-halves calls=2");
        Errno low = _backend.Unmap(0, Bit63);
        Record(VfioListenerCallKind.Unmap, 0, HalfSpace, 0, false, false, low);
        Errno high = _backend.Unmap(Bit63, Bit63);
        Record(VfioListenerCallKind.Unmap, Bit63, HalfSpace, 0, false, false, high);
        return low != Errno.Ok ? low : high;
    }

    private void Record(VfioListenerCallKind kind, ulong iova, UInt128 size, ulong vaddr, bool readOnly, bool native, Errno rc)
    {
        var call = new VfioListenerCall(kind, iova, size, vaddr, readOnly, native, rc);
        _calls.Add(call);
        if (Trace is not null)
        {
            string name = kind switch
            {
                VfioListenerCallKind.Map => native ? "iommukit_dma_map_full_range" : "vfio_dma_map",
                VfioListenerCallKind.Unmap => native ? "iommukit_dma_unmap_full_range" : "vfio_dma_unmap",
                _ => "vfio_dma_unmap_all",
            };
            string args = kind == VfioListenerCallKind.Map
                ? $"iova={Hex(iova)} size={Hex(size)} vaddr={Hex(vaddr)} {(readOnly ? "r" : "rw")}"
                : $"iova={Hex(iova)} size={Hex(size)}";
            Trace(name, $"{_backend.Name} {args} -> {(rc == Errno.Ok ? "ok" : rc.ToString())}");
        }
    }

    private void Report(VfioListenerErrorKind kind, string message, Errno rc)
    {
        _errors.Add(new VfioListenerError(kind, message, rc));
        Emit("vfio_listener_error", $"kind={kind.ToString().ToLowerInvariant()} {message}");
    }

    private void Emit(string name, string arguments) => Trace?.Invoke(name, arguments);

    private static string Span(MemoryRegionSection section) =>
        $"name={section.Region.Name} iova={Hex(section.OffsetWithinAddressSpace)} size={Hex(section.Size)}";

    private static string Hex(ulong value) => ThrowHelper.Hex(value);

    /// <summary>Hex, except exactly 2^64, which reads <c>2^64</c> (the value this listener exists to get right).</summary>
    private static string Hex(UInt128 value) => value == IovaRange.SpaceSize ? "2^64" : ThrowHelper.Hex(value);

    /// <summary>A shadowed guest IOMMU section (QEMU's <c>VFIOGuestIOMMU</c>).</summary>
    private sealed class GuestIommu(MemoryRegion region, ulong iommuOffset)
    {
        public MemoryRegion Region { get; } = region;

        public ulong IommuOffset { get; } = iommuOffset;

        public IommuNotifier Notifier { get; set; } = null!;

        public VfioListener Listener { get; set; } = null!;

        public void OnEvent(IommuNotifier notifier, IommuTlbEvent evt) => Listener.OnIommuEvent(this, evt);
    }
}
